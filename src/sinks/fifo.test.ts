/** Fifo: order, batches, and compaction of the consumed prefix (checked against a plain array). */
import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('behaves like an array used as a queue through many pushes, shifts and takes', () => {
    const q = new Fifo<number>();
    const model: number[] = [];
    let next = 0;
    for (let round = 0; round < 5000; round++) {
      const pushes = round % 7;
      for (let i = 0; i < pushes; i++) {
        q.push(next);
        model.push(next++);
      }
      if (round % 3 === 0) expect(q.shift()).toBe(model.shift());
      else expect(q.take(round % 5)).toEqual(model.splice(0, round % 5));
      expect(q.size).toBe(model.length);
      expect(q.peek()).toBe(model[0]);
    }
    q.clear();
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
    expect(q.take(3)).toEqual([]);
  });
});

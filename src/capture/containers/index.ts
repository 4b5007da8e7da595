/** Container metadata for live capture: see resolver.ts. */
export {
  createContainerResolver,
  type ContainerResolver,
  type ContainerResolverOptions,
} from './resolver.js';

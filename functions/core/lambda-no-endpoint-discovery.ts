/**
 * Stands in for `@aws-sdk/middleware-endpoint-discovery` in the Lambda bundle only (an esbuild
 * alias, `LAMBDA_BUNDLE_ARGS` in infra/aws/api-function.ts). DynamoDB's client resolves an endpoint
 * cache for endpoint discovery whether or not it is used, and that cache brings an LRU library:
 * about 9 KB every cold start would parse. Endpoint discovery is off unless asked for, and
 * Dialback never asks (its one call, `UpdateItem`, goes to the regional endpoint), so the
 * stand-in resolves the configuration as "off" and adds no middleware.
 */

/** The client's config, resolved with discovery off and no cache. */
export function resolveEndpointDiscoveryConfig<T extends object>(
  input: T,
  _options: { readonly endpointDiscoveryCommandCtor: unknown },
): T & { endpointDiscoveryEnabled: () => Promise<boolean>; isClientEndpointDiscoveryEnabled: boolean } {
  return Object.assign(input, {
    endpointDiscoveryEnabled: () => Promise.resolve(false),
    isClientEndpointDiscoveryEnabled: false,
  });
}

/** The setting's sources for the SDK's config loader: none, so it is off. */
export const NODE_ENDPOINT_DISCOVERY_CONFIG_OPTIONS = Object.freeze({
  environmentVariableSelector: (): undefined => undefined,
  configFileSelector: (): undefined => undefined,
  default: false,
});

/** A plugin that adds nothing, should a command ask for discovery's middleware. */
const NO_PLUGIN = Object.freeze({ applyToStack: (): void => {} });

/** The plugins a command of an SDK version that uses discovery would add: none. */
export const getEndpointDiscoveryPlugin = (): typeof NO_PLUGIN => NO_PLUGIN;
export const getEndpointDiscoveryRequiredPlugin = getEndpointDiscoveryPlugin;
export const getEndpointDiscoveryOptionalPlugin = getEndpointDiscoveryPlugin;

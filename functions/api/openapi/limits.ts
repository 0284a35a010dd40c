/**
 * The deployment limits the OpenAPI document quotes, and how the served copy gets them. The
 * document is built at bundle time (functions/build/served-code.ts), before the function's
 * settings are its environment, with a sentinel number standing for each limit; `/openapi.json`
 * puts the running configuration's numbers in their place. So the builder stays out of the code
 * every cold start parses, and the served document is still the one its configuration implies.
 */
import type { Config } from '../../core/config.ts';

/** What the document says of a deployment's limits. */
export type OpenApiLimits = Pick<Config, 'ratePerMinute' | 'ratePerDay' | 'maxPorts'>;

/**
 * The numbers the template is built with: nine digits no real limit has (config caps them far
 * lower) and no other figure in the document shares, so each stands for one limit alone.
 */
export const TEMPLATE_LIMITS: Readonly<OpenApiLimits> = Object.freeze({
  ratePerMinute: 987_650_001,
  ratePerDay: 987_650_002,
  maxPorts: 987_650_003,
});

/** The template (the document built with `TEMPLATE_LIMITS`, as JSON text) with `limits` in place. */
export function fillOpenApiTemplate(template: string, limits: OpenApiLimits): string {
  let filled = template;
  for (const key of Object.keys(TEMPLATE_LIMITS) as Array<keyof OpenApiLimits>) {
    filled = filled.replace(new RegExp(`\\b${TEMPLATE_LIMITS[key]}\\b`, 'g'), String(limits[key]));
  }
  return filled;
}

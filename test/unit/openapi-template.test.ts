/**
 * `/openapi.json` is built at bundle time with stand-in limits and filled in when served
 * (functions/api/openapi/limits.ts): the served text must be exactly the document the running
 * configuration implies, whatever its limits.
 */
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/api/openapi/document.ts';
import { fillOpenApiTemplate, TEMPLATE_LIMITS } from '../../functions/api/openapi/limits.ts';
import { loadConfig } from '../../functions/core/config.ts';

const template = JSON.stringify(openApiDocument(TEMPLATE_LIMITS));

describe('the OpenAPI template', () => {
  it('names every limit by its stand-in, so each can be filled in', () => {
    for (const [key, value] of Object.entries(TEMPLATE_LIMITS)) {
      expect(template.includes(String(value)), key).toBe(true);
    }
  });

  it.each([
    {},
    { RATE_LIMIT_PER_MINUTE: '7', RATE_LIMIT_PER_DAY: '99', MAX_PORTS: '3' },
    // Limits whose digits are a stand-in's prefix or suffix must not be mistaken for one.
    { RATE_LIMIT_PER_MINUTE: '98765', RATE_LIMIT_PER_DAY: '987650', MAX_PORTS: '1' },
  ])('filled with %o, is the document that configuration builds, byte for byte', (env) => {
    const config = loadConfig(env);
    const filled = fillOpenApiTemplate(template, config);
    expect(filled).toBe(JSON.stringify(openApiDocument(config)));
    expect(filled).not.toMatch(/98765000[123]/);
  });

  it('fills each limit where it stands, not another’s', () => {
    const filled = JSON.parse(fillOpenApiTemplate(template, { ratePerMinute: 11, ratePerDay: 222, maxPorts: 5 }));
    expect(filled.info.description).toContain('11 per minute and 222 per day');
    expect(filled.components.schemas.CheckResponse.properties.results.maxItems).toBe(5);
  });
});

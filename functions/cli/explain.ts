/**
 * Every way a CLI run can fail, in plain words: what happened and what to do next, never a
 * stack trace or a bare socket code. Under `--json` the same explanation is printed as an
 * RFC 9457 problem (an API's own problem passes through unchanged).
 */
import { DialbackError, NotDialbackError } from '../client/dialback-client.ts';
import { FETCH_ERRORS } from './family-fetch.ts';

/** A failure as the CLI reports it; the shape of RFC 9457 problem details. */
export interface CliProblem {
  readonly type: string;
  readonly title: string;
  /** The API's HTTP status, when it answered one. */
  readonly status?: number;
  readonly detail: string;
  readonly retryAfterSeconds?: number;
  readonly requestId?: string;
}

/** A mistake in the command line: exit 2 with the short usage, without asking the API. */
export class UsageError extends Error {}

/** A failure the CLI itself diagnosed, with its explanation ready. */
export class CliFailure extends Error {
  readonly kind: string;
  readonly title: string;
  constructor(kind: string, title: string, detail: string) {
    super(detail);
    this.kind = kind;
    this.title = title;
  }
}

const TYPE = 'urn:dialback:cli:';

function problem(kind: string, title: string, detail: string): CliProblem {
  return { type: `${TYPE}${kind}`, title, detail };
}

function isLoopbackHost(api: string): boolean {
  const host = new URL(api).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function socketCode(error: DialbackError): string | undefined {
  // The fetch error's cause is the socket's error (ECONNREFUSED, a deadline of ours, …).
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 3 && cause !== undefined; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Why the API could not be reached, by the socket's error code. */
function unreachable(error: DialbackError, api: string, deadlines: { connectMs: number; totalMs: number }): CliProblem {
  const code = socketCode(error);
  const host = new URL(api).host;
  switch (code) {
    case 'ECONNREFUSED':
      return isLoopbackHost(api)
        ? problem(
            'refused',
            'Nothing is listening',
            `Nothing is listening at ${api} (connection refused). Is the server running? Start it with \`npm start\`, or give another API with --api.`,
          )
        : problem(
            'refused',
            'Nothing is listening',
            `Nothing is listening at ${api} (connection refused). Check the --api URL (host and port).`,
          );
    case FETCH_ERRORS.connectTimeout:
    case 'ETIMEDOUT':
      return problem(
        'connect-timeout',
        'No connection',
        `Could not connect to ${api} within ${deadlines.connectMs / 1000} s: nothing answered (a wrong address, or a firewall dropping the connection). Check the --api URL and your network.`,
      );
    case FETCH_ERRORS.answerTimeout:
      return problem(
        'answer-timeout',
        'No answer',
        `${api} accepted the connection but sent no answer within ${deadlines.totalMs / 1000} s. If the URL is right, the service is stuck: try again later.`,
      );
    case FETCH_ERRORS.tooLarge:
      return notDialback(api, 'it sent an answer far larger than any Dialback answer.');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return problem(
        'dns',
        'Unknown host',
        `Cannot find the host ${host} (the DNS lookup failed). Check the spelling of --api and your network.`,
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return problem('no-route', 'No route', `There is no route from this machine to ${host}. Check your network.`);
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return problem(
        'no-route',
        'No address of that family',
        `This machine cannot connect to ${host} over the IP family asked for (no such address here). Try without -4/-6.`,
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return problem(
        'reset',
        'Connection dropped',
        `${api} closed the connection without answering. Check the --api URL; if it is right, try again.`,
      );
    default:
      if (code?.startsWith('HPE_')) return notDialback(api, 'it did not answer in HTTP.');
      if (code !== undefined && /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO|DEPTH_|SELF_SIGNED|EPROTO)/.test(code)) {
        return problem(
          'tls',
          'TLS failed',
          `Could not set up a secure (https) connection to ${host} (${code}). A local server speaks http://; a deployed API has a valid certificate.`,
        );
      }
      return problem(
        'unreachable',
        'API not reachable',
        `Could not reach ${api}${code === undefined ? '' : ` (${code})`}. Check the --api URL and your network.`,
      );
  }
}

function notDialback(api: string, why: string): CliProblem {
  return problem(
    'not-dialback',
    'Not a Dialback API',
    `${api} does not look like a Dialback API: ${why} Check the --api URL: it is the base URL that serves /check and /openapi.json (the ApiUrl output of a deploy, or http://127.0.0.1:8787 locally).`,
  );
}

/** Explains any failure of a run; never throws, never includes a stack trace. */
export function explainFailure(
  error: unknown,
  api: string,
  deadlines: { connectMs: number; totalMs: number },
): CliProblem {
  if (error instanceof CliFailure) return problem(error.kind, error.title, error.message);
  if (error instanceof NotDialbackError) {
    if (error.status >= 500) {
      return {
        ...problem(
          'unavailable',
          'The API failed',
          `${api} answered HTTP ${error.status} without saying why: the service may be failing or restarting. Try again in a minute.`,
        ),
        status: error.status,
      };
    }
    return notDialback(api, `${error.message.replace(/^\S+ answered/, 'it answered')}`);
  }
  if (error instanceof DialbackError) {
    if (error.status === 0) return unreachable(error, api, deadlines);
    // The API's own problem details, as it sent them: its detail says what to do (and when).
    if (error.problem !== undefined) return error.problem;
    return { ...problem('http', `HTTP ${error.status}`, error.message), status: error.status };
  }
  const message = error instanceof Error ? error.message : String(error);
  return problem('internal', 'Unexpected failure', `Something unexpected went wrong in dialback itself: ${message}`);
}

/** The one line a person reads on stderr. */
export function problemLine(p: CliProblem): string {
  // An API's 429 detail already says when to try again; say nothing twice.
  return p.type.startsWith(TYPE) ? p.detail : `${p.title}: ${p.detail}`;
}

/**
 * Real got error instances for table-driven tests, built without a socket. got's constructors
 * want a live Request; they only read `options`, `response` and `timings` from it (and check for
 * `_onResponse` to tell a Request from Options), so a small stand-in is enough.
 */
import {
  AbortError,
  CancelError,
  HTTPError,
  MaxRedirectsError,
  ParseError,
  ReadError,
  RequestError,
  TimeoutError,
  type PlainResponse,
  type Request,
  type Response,
} from 'got';

interface FakeResponse {
  statusCode: number;
  statusMessage?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

function fakeRequest(response?: FakeResponse): Request {
  const request = {
    _onResponse() {},
    options: { method: 'GET', url: new URL('http://example.com/a.png'), maxRedirects: 3 },
    response: undefined as unknown,
    timings: undefined,
  };
  if (response !== undefined) request.response = { headers: {}, ...response, request };
  return request as unknown as Request;
}

export function httpError(statusCode: number, more: Omit<FakeResponse, 'statusCode'> = {}): HTTPError {
  const request = fakeRequest({ statusCode, statusMessage: 'Status', ...more });
  return new HTTPError(request.response as unknown as PlainResponse);
}

/** What got throws for a transport failure: Node's error code copied onto a RequestError. */
export function requestError(code: string, message = `${code} happened`): RequestError {
  return new RequestError(message, { code, message }, fakeRequest());
}

/** How got reports an error thrown inside it (a hook, a dns lookup): wrapped, with it as cause. */
export function wrappedError(cause: Error): RequestError {
  return new RequestError(cause.message, cause, fakeRequest());
}

export function readError(code: string, message = `${code} while reading`): ReadError {
  return new ReadError(Object.assign(new Error(message), { code }), fakeRequest({ statusCode: 200 }));
}

type TimeoutArgs = ConstructorParameters<typeof TimeoutError>;

export function timeoutError(): TimeoutError {
  const cause = Object.assign(new Error("Timeout awaiting 'request' for 10ms"), { code: 'ETIMEDOUT', event: 'request' });
  return new TimeoutError(cause as TimeoutArgs[0], {} as TimeoutArgs[1], fakeRequest());
}

export const abortError = (): AbortError => new AbortError(fakeRequest());
export const cancelError = (): CancelError => new CancelError(fakeRequest());
export const maxRedirectsError = (): MaxRedirectsError => new MaxRedirectsError(fakeRequest());

export function parseError(): ParseError {
  const request = fakeRequest({ statusCode: 200 });
  return new ParseError(new SyntaxError('Unexpected token < in JSON'), request.response as unknown as Response);
}

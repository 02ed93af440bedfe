import { describe, expect, it } from 'vitest';
import { DatabaseTimeout, isDatabaseUnavailable } from '../../src/db/unavailable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable: which errors answer 503 rather than 500', () => {
  it.each([
    ['a pool checkout that timed out', new Error('timeout exceeded when trying to connect')],
    ['a connection cut under a query', new Error('Connection terminated unexpectedly')],
    ['a connect that timed out', new Error('Connection terminated due to connection timeout')],
    ['the client-side query timeout', new Error('Query read timeout')],
    ['a client whose connection broke', new Error('Client has encountered a connection error and is not queryable')],
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    ['a refused dual-stack connect', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '')],
    ['a terminated backend (57P01)', withCode('terminating connection due to administrator command', '57P01')],
    ['a server starting or stopping (57P03)', withCode('the database system is starting up', '57P03')],
    ['statement_timeout (57014)', withCode('canceling statement due to statement timeout', '57014')],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a connection exception (08006)', withCode('connection failure', '08006')],
    ['our own stall timeout', new DatabaseTimeout('the database sent nothing for 1000 ms')],
  ])('%s is unavailability', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a syntax error (42601)', withCode('syntax error at or near "x"', '42601')],
    ['a missing relation (42P01)', withCode('relation "customer" does not exist', '42P01')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'n')")],
    ['not an error', 'timeout exceeded when trying to connect'],
  ])('%s is not', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

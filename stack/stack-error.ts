/** A stack that cannot come up or keep running, said in words a user can act on. */
export class StackError extends Error {
  override readonly name = 'StackError';
}

// Process exit statuses (documented in --help) and the error type for mistakes a user can fix.
export const ExitStatus = {
  /** The guest halted, or the user quit with Ctrl-A x. */
  Ok: 0,
  /** The guest failed: triple fault, entry failure, KVM internal error. */
  GuestFailed: 1,
  /** Bad command line or bad guest image; no VM was started. */
  BadInput: 2,
  /** The host cannot run a VM: no KVM, no permission, out of memory. */
  HostError: 3,
  /** Library runs only: the VM was stopped at its timeoutMs (the status timeout(1) gives). */
  TimedOut: 124,
  /** A bug in microvmm (an unexpected exception); the message has the stack. */
  Internal: 70,
  /** Stopped by SIGINT/SIGTERM/SIGHUP: 128 + the signal number. */
  SignalBase: 128,
} as const;

/**
 * An error the user can act on: printed as one line (no stack), then the process exits with
 * `status`. The message says what failed and, where there is one, what to do.
 */
export class UserError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "UserError";
  }
}

export class BadInputError extends UserError {
  constructor(message: string) {
    super(message, ExitStatus.BadInput);
  }
}

export class HostError extends UserError {
  constructor(message: string) {
    super(message, ExitStatus.HostError);
  }
}

/** Runs `f`; a BadInputError it throws comes out prefixed with the file it was about. */
export function aboutFile<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BadInputError) throw new BadInputError(`${file}: ${e.message}`);
    throw e;
  }
}

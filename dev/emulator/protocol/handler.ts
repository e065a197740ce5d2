import type { EmulatorState } from "../model/state.js";
import type { InputReader } from "./input.js";

export interface HandlerContext {
  readonly state: EmulatorState;
  /** Emulator-wide cap on list page sizes (undefined: the AWS defaults). */
  readonly pageSize: number | undefined;
  /** The account that signed the request (its access key id's, see EmulatorState.callerOf). */
  readonly caller: string;
}

/** One AWS operation: reads the request body, returns the response body or throws AwsServiceError. */
export type Handler = (input: InputReader, ctx: HandlerContext) => object;

export type OperationTable = ReadonlyMap<string, Handler>;

/**
 * The SDK's output types with Date replaced by what travels on the wire (epoch seconds), so every
 * response the emulator builds is checked against the real client's field names at compile time.
 */
export type Wire<T> = T extends Date
  ? number
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

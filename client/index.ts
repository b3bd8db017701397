/**
 * arraywire/client: receive typed arrays from an arraywire server, in browsers and in Node.
 */
import type { TypedArray } from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { ArrayClient, type ConnectOptions, type FetchOptions } from "./connection.ts";

export type { Dtype, TypedArray } from "../shared/index.ts";
export { ProtocolError, StreamError } from "../shared/index.ts";
export type { ArrayResult } from "./assembler.ts";
export type { ConnectOptions, FetchOptions, Progress } from "./connection.ts";
export { ArrayClient } from "./connection.ts";
export type { WebSocketConstructor, WebSocketLike } from "./socket.ts";

/**
 * Connects, fetches one array, and closes: the one-call form of {@link ArrayClient}.
 * @throws what {@link ArrayClient.connect} and {@link ArrayClient.fetch} throw.
 */
export async function fetchArray<T extends TypedArray = TypedArray>(
  url: string | URL,
  name: string,
  options: FetchOptions<T> & ConnectOptions = {},
): Promise<ArrayResult<T>> {
  const client = await ArrayClient.connect(url, options);
  try {
    return await client.fetch<T>(name, options);
  } finally {
    client.close();
  }
}

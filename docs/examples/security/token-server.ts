import { ArrayServer, readToken } from "arraywire/server";

const sessions = new Set(["a-session-token"]); // your session store

const server = new ArrayServer({
  port: 8080,
  allowedOrigins: ["http://localhost:5173"],
  allowedHosts: ["arrays.example"], // its public name (localhost and IP addresses always pass)
  // readToken looks at Authorization: Bearer <t>, then the cookie arraywire_token, then a
  // subprotocol "arraywire.token.<t>" (browsers cannot set headers on a WebSocket).
  authenticate: (req) => sessions.has(readToken(req) ?? ""),
});
server.publish("temperature", new Float64Array(1000));
await server.listen();
server.closeOnSignals();

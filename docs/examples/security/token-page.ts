import { fetchArray } from "arraywire/client";

const url = "http://localhost:8080/arraywire";
const token = "a-session-token";

// Browser: a WebSocket cannot send headers, so the token goes in a subprotocol ("auto" picks ws).
const { array } = await fetchArray(url, "temperature", { protocols: [`arraywire.token.${token}`] });
// Or over HTTP, with a header (the server answers the CORS preflight for allowedOrigins):
await fetchArray(url, "temperature", { headers: { Authorization: `Bearer ${token}` } });
// Or the arraywire_token cookie (HttpOnly, Secure, SameSite=Strict), with credentials: "include".
document.body.append(`${array.length} values`);

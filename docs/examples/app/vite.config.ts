import { arraywire } from "arraywire/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [arraywire({ setup: "./arrays.ts" })],
});

// fetch-worker.ts: the worker's whole module
import "arraywire/client/worker";

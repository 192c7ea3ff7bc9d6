/** Live updates of a VM's page over server-sent events (stub, filled in by the live-updates work). */
export {};

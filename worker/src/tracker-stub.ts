/** All peers and pages share one tracker object; its name is fixed. */
export const trackerOf = (env: Cloudflare.Env) => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

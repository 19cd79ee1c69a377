import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for the server process (imported first by
 * main.ts, before the app allocates anything that lasts).
 *
 * V8 allocates objects straight into the old generation when objects from the same allocation
 * site were seen to survive young-generation collections. Under load a request's objects
 * survive a collection merely because the request was still in flight when it ran; V8 then
 * pretenures per-request objects, which die young anyway, so the old generation fills with
 * garbage and every collection gets slower. Whether that happens depended on the timing of the
 * first collections under load: measured on the hot-key benchmark, runs of the same build fell
 * into two groups, ~16 500 req/s with a p99 of ~5 ms, or ~13 500 req/s with a p99 of 10-15 ms
 * (scavenges of 5-11 ms instead of ~1 ms). With this flag every run was in the first group.
 * Long-lived objects (caches, pools) still reach the old generation by surviving.
 */
setFlagsFromString('--no-allocation-site-pretenuring');

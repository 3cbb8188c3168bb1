// On a static host that sends no COOP/COEP headers (the site of scripts/site.sh),
// coi-serviceworker.js registers a service worker that adds them and reloads the page
// once it is in control (www/vendor/coi-serviceworker/). Until then nothing should be
// loaded: the reload would throw it away. Where no service worker takes control
// (refused, or not there within 5 s, or no reload 10 s later) the page goes on without
// isolation, on the one-thread build. `say` tells the reader while it waits.
export async function isolated(say) {
  const sw = navigator.serviceWorker;
  if (self.crossOriginIsolated || !sw || sw.controller || !document.querySelector('script[src="coi-serviceworker.js"]')) return;
  const coming = await Promise.race([sw.ready.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
  if (!coming) return;
  say("starting the service worker that lets the CPU build use threads; the page reloads once…");
  await new Promise((r) => setTimeout(r, 10000)); // no reload came: go on without threads
}

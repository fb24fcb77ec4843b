// fdxd issue center: refreshes the page's live part (#live) every
// data-refresh seconds from the same URL with ?fragment=live. The pages are
// complete without it; reload to refresh.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.URL) {
    return;
  }
  var every = parseInt(live.getAttribute("data-refresh"), 10) || 15;
  function refresh() {
    if (document.hidden) {
      return;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "live");
    fetch(url.toString(), { credentials: "same-origin", redirect: "error" })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("status " + resp.status);
        }
        return resp.text();
      })
      .then(function (html) {
        live.innerHTML = html;
      })
      .catch(function () {
        // Signed out or offline: leave the page as it is.
      });
  }
  window.setInterval(refresh, every * 1000);
})();

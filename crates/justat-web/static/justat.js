// Progressive enhancement for the back office: a page showing a job that is still running
// reloads itself every few seconds until the job ends. Without JavaScript, the page offers
// a link to refresh by hand.
(function () {
  var pending = document.querySelector('[data-job-pending]');
  if (pending) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();

/* Response templates (惯用语): choosing one in an action form's picker puts its text into the
   form's note (appended when something is written already). No inline handlers (CSP). */
(function () {
  'use strict';
  document.querySelectorAll('select.gm-phrase-pick').forEach(function (pick) {
    pick.addEventListener('change', function () {
      var form = pick.closest('form');
      var note = form && form.querySelector('textarea[name=note]');
      if (!note || !pick.value) return;
      var had = note.value.replace(/\s+$/, '');
      note.value = had ? had + '；' + pick.value : pick.value;
      pick.value = '';
      note.focus();
    });
  });
})();

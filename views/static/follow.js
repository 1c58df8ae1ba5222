// Progressive enhancement of the follow box: remembers the instance a visitor typed, so their next visit is one
// click. The box works the same without this file (the form submits to our /interact redirect).
(function () {
  "use strict";
  var KEY = "memo.instance";

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage disabled by the browser's privacy settings
    }
  }

  var forms = document.querySelectorAll("form.signbox");
  var store = storage();
  Array.prototype.forEach.call(forms, function (form) {
    var input = form.querySelector("input[name=instance]");
    if (!input) {
      return;
    }
    if (!input.value && store) {
      try {
        var saved = store.getItem(KEY);
        if (saved) {
          input.value = saved;
        }
      } catch (e) { /* unreadable storage: nothing to prefill */ }
    }
    form.addEventListener("submit", function () {
      input.value = input.value.trim();
      if (store && input.value) {
        try {
          store.setItem(KEY, input.value);
        } catch (e) { /* full or read-only storage: not remembering is fine */ }
      }
    });
  });
})();

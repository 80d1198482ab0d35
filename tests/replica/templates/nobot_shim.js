/* Replica stand-in for the ASP.NET AJAX + AjaxControlToolkit scripts: just enough
   for a real browser to run the NoBot challenge, as the real toolkit does. */
(function () {
  if (window.Sys && window.Sys.__replica) { return; }
  var inits = [];
  window.$get = function (id) { return document.getElementById(id); };
  window.Sys = {
    __replica: true,
    Application: {
      add_init: function (fn) { inits.push(fn); },
      remove_init: function (fn) { inits = inits.filter(function (f) { return f !== fn; }); }
    },
    WebForms: { PageRequestManager: { _initialize: function () {} } },
    Extended: { UI: { NoBotBehavior: function (props, element) {
      var field = document.getElementById(props.ClientStateFieldID);
      if (field) { field.value = String(eval(props.ChallengeScript)); }
    } } }
  };
  window.$create = function (type, props, events, refs, element) { return new type(props, element); };
  window.Menu_HoverRoot = window.Menu_HoverStatic = window.Menu_HoverDynamic =
    window.Menu_Unhover = window.Menu_Key = window.PopOut_Up = window.PopOut_Down =
    window.PopOut_Stop = function () {};
  document.addEventListener("DOMContentLoaded", function () {
    inits.slice().forEach(function (fn) { fn(); });
  });
})();

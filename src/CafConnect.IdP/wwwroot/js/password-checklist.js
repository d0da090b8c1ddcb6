// Live checklist of the password rules (the server checks them again; this only helps while typing).
// Each rule line carries its pattern; the line shows as valid when the typed password matches it. Nothing is ticked
// while the field is empty: "chiffres et lettres uniquement" matches an empty string, but nothing has been typed yet.
(function () {
  document.querySelectorAll('input[data-password-checklist]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('data-password-checklist'));
    if (!list) { return; }
    var lines = list.querySelectorAll('[data-rule-pattern]');
    function update() {
      lines.forEach(function (line) {
        var ok = input.value.length > 0 && new RegExp(line.getAttribute('data-rule-pattern')).test(input.value);
        line.classList.toggle('fr-message--valid', ok);
        line.classList.toggle('fr-message--info', !ok);
      });
    }
    input.addEventListener('input', update);
    update();
  });
})();

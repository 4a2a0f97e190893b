// The registration form's one script, a convenience only: the time-zone list shows the chosen country's zones
// (its data-zones, from the tz database's zone.tab) and UTC. Without JavaScript the whole list stays, and the
// server checks the pair either way (registration/forms.py, zone_mismatch).
"use strict";
(function () {
  const country = document.getElementById("country");
  const zone = document.getElementById("timezone");
  if (!country || !zone) return;
  const every = Array.from(zone.options); // the placeholder, UTC, then every zone

  function narrow() {
    const chosen = country.selectedOptions[0];
    const own = chosen && chosen.dataset.zones ? chosen.dataset.zones.split(" ") : null; // null: all zones
    const kept = every.filter((o) => !own || o.value === "" || o.value === "UTC" || own.includes(o.value));
    const previous = zone.value;
    zone.replaceChildren(...kept);
    // Keep a choice that still fits; a country with one zone gets it chosen; otherwise back to the placeholder.
    const fits = previous !== "" && kept.some((o) => o.value === previous);
    zone.value = fits ? previous : own && own.length === 1 ? own[0] : "";
  }

  country.addEventListener("change", narrow);
  narrow();
})();

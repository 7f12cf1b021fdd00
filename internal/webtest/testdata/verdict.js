// Shows the verdict the query asks for: ?ok or ?bad.
import { showVerdict } from "/assets/verdict.js";

const box = document.getElementById("box");
if (location.search === "?ok") {
  showVerdict(box, { ok: true, facts: [["Name", "Ada Lovelace"], ["Birth date", "1990-12-10"]] });
} else {
  showVerdict(box, { ok: false, reason: "This pass has been revoked by its issuer.", code: "revoked" });
}

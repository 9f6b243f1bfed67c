/** /learn/achievements: the badge gallery and the certificate viewer (print, PDF, verify). */
import type { GalleryItem, Verification } from "../../wasm/achievements/mastery_wasm.js";
import type { Snapshot } from "../data.js";
import { esc } from "../util.js";
import { achievements } from "../wasm.js";

const WORDS: Record<GalleryItem["status"], string> = { earned: "Earned", in_progress: "In progress", expired: "Expired", revoked: "Revoked" };
const date = (t: string | null) => (t ? t.slice(0, 10) : "");

function tile(item: GalleryItem, index: number, signed: string): string {
  const p = Math.round(item.progress * 100);
  const detail = {
    earned: `Awarded ${date(item.awarded_at)}${item.valid_until ? `, valid until ${date(item.valid_until)}` : ""}`,
    in_progress: `${p}% of the way there`,
    expired: `Awarded ${date(item.awarded_at)}, expired ${date(item.valid_until)}`,
    revoked: `Revoked: ${item.revocation_reason ?? "no reason given"}`,
  }[item.status];
  const meter = item.status === "in_progress"
    ? `<div class="meter" role="progressbar" aria-label="Progress towards ${esc(item.name)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${p}"><span style="width:${p}%"></span></div>` : "";
  const button = item.status === "earned" && item.credential_id === signed
    ? `<button type="button" data-view="${index}">View certificate<span class="visually-hidden"> for ${esc(item.name)}</span></button>` : "";
  return `<li class="badge"><span class="status ${item.status}">${WORDS[item.status]}</span><h3>${esc(item.name)}</h3>${meter}<p class="small">${esc(detail)}</p>${button}</li>`;
}

function checks(v: Verification): string {
  return `<p><strong class="${v.valid ? "pass" : "fail"}" id="verdict">${v.valid ? "Valid: every check passed" : `Not valid: ${v.checks.filter((c) => !c.passed).map((c) => c.name).join(", ")} failed`}</strong></p>
  <ul class="checks">${v.checks.map((c) => `<li data-check="${esc(c.name)}" data-passed="${c.passed}"><span class="${c.passed ? "pass" : "fail"}">${c.passed ? "✓ passed" : "✗ failed"}</span> <strong>${esc(c.name)}</strong>: ${esc(c.detail)}</li>`).join("")}</ul>`;
}

export async function achievementsPage(main: HTMLElement, snap: Snapshot): Promise<void> {
  const m = await achievements();
  const a = snap.achievements;
  const gallery = m.badgeGallery(a.awards, a.list, a.facts, a.now) as GalleryItem[];
  const order = ["earned", "in_progress", "expired", "revoked"];
  const items = gallery.map((g, i) => ({ g, i })).sort((x, y) => order.indexOf(x.g.status) - order.indexOf(y.g.status));
  main.innerHTML = `<h1>My achievements</h1>
  <p class="lede no-print">${esc(snap.learner.name)} · ${esc(snap.course.title)} · as of ${date(a.now)}</p>
  <section class="gallery-section" aria-labelledby="gallery-h"><h2 id="gallery-h">Badges</h2>
    <ul class="gallery">${items.map(({ g, i }) => tile(g, i, a.credential.id)).join("")}</ul></section>
  <section class="card certificate" id="certificate" aria-labelledby="cert-h" hidden><h2 id="cert-h" class="no-print">Certificate</h2><div id="cert-svg"></div>
    <div class="actions no-print"><button type="button" id="print">Print</button><button type="button" id="pdf" class="secondary">Download PDF</button><button type="button" id="verify" class="secondary">Verify</button></div>
  </section>
  <section class="card verify-section" aria-labelledby="verify-h"><h2 id="verify-h">Verify a credential</h2>
    <p class="small">Checked here in the browser: signature, OB 3.0 shape, validity dates, status and issuer.</p>
    <label for="jwt">Credential (VC-JWT)</label><textarea id="jwt" spellcheck="false">${esc(a.jwt)}</textarea>
    <div class="actions"><button type="button" id="verify-text">Verify this credential</button></div>
    <div id="checks" aria-live="polite"></div></section>`;
  const verify = (jwt: string) => {
    try {
      main.querySelector("#checks")!.innerHTML = checks(m.verifyVcJwt(jwt.trim(), a.now, a.issuer, null) as Verification);
    } catch (e) {
      main.querySelector("#checks")!.innerHTML = `<p class="fail" id="verdict">Not a credential: ${esc((e as Error).message)}</p>`;
    }
  };
  const show = (item: GalleryItem) => {
    const svg = m.certificateSvg(a.credential, snap.learner.name, `${a.verify_url}/${encodeURIComponent(item.credential_id ?? "")}`, null);
    const section = main.querySelector<HTMLElement>("#certificate")!;
    section.querySelector("#cert-svg")!.innerHTML = svg;
    section.hidden = false;
    section.dataset.achievement = item.name;
    if (document.activeElement?.hasAttribute("data-view")) section.querySelector<HTMLButtonElement>("#print")!.focus();
  };
  main.querySelectorAll<HTMLButtonElement>("button[data-view]").forEach((b) =>
    b.addEventListener("click", () => show(gallery[Number(b.dataset.view)])));
  main.querySelector("#print")!.addEventListener("click", () => window.print());
  main.querySelector("#pdf")!.addEventListener("click", () => {
    const pdf = m.certificatePdf(a.credential, snap.learner.name, a.verify_url, null);
    const url = URL.createObjectURL(new Blob([new Uint8Array(pdf)], { type: "application/pdf" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "certificate.pdf";
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  main.querySelector("#verify")!.addEventListener("click", () => {
    verify(a.jwt);
    main.querySelector<HTMLElement>("#checks")!.scrollIntoView();
  });
  main.querySelector("#verify-text")!.addEventListener("click", () => verify(main.querySelector<HTMLTextAreaElement>("#jwt")!.value));
  // The credential of the first earned badge is shown straight away.
  const first = gallery.find((g) => g.credential_id === a.credential.id);
  if (first) {
    show(first);
    document.documentElement.scrollTop = 0;
  }
}

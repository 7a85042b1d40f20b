// drive.js PLAN.json: drives the dashboard in a real headless Chromium
// (Debian's, through puppeteer-core from npm) as a user would, and prints one
// JSON object of what each view showed. The plan: {"url", "chromium",
// "key_id", "secret", "job", "cancel_task", "shots": DIR, "reschedule":
// {"instance", "task", "too_late", "when"}}. Screenshots of each
// view go to DIR. dashboard_test.py judges the result against the store.
"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = { views: {}, console_errors: [], shots: [] };

async function shot(page, name) {
  const file = path.join(plan.shots, (plan.sign_in_only ? "tls-" : "") + name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  out.shots.push(file);
}

// The rows of a table as arrays of cell texts, with the row's data-* id.
async function rows(page, sel) {
  return page.$$eval(sel + " tbody tr", (trs) =>
    trs.map((tr) => ({ id: tr.dataset.job || tr.dataset.task || tr.dataset.finding || "", cells: [...tr.cells].map((c) => c.innerText.trim()) })));
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: plan.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"].concat(
      plan.ca_spki ? ["--ignore-certificate-errors-spki-list=" + plan.ca_spki] : []),
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on("console", (m) => m.type() === "error" && out.console_errors.push(m.text()));
    page.on("pageerror", (e) => out.console_errors.push(String(e)));
    await page.goto(plan.url + "/dashboard", { waitUntil: "load" });
    await page.waitForSelector("#signin:not([hidden])");
    await shot(page, "0-signin");
    // A wrong secret is refused, and the page says so.
    await page.type("#key-id", plan.key_id);
    await page.type("#key-secret", "not-the-secret");
    await page.click("#signin button[type=submit]");
    await page.waitForFunction(() => document.getElementById("status").textContent.includes("refused"));
    out.views.wrong_secret = await page.$eval("#status", (e) => e.textContent);
    out.console_errors = []; // the refused sign-in's 401, expected
    await page.$eval("#key-secret", (e) => (e.value = ""));
    await page.type("#key-secret", plan.secret);
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("#jobs");
    out.views.jobs = await rows(page, "#jobs");
    out.views.storage_after_signin = await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage));
    await shot(page, "1-jobs");
    if (plan.sign_in_only) return; // the TLS run: signing in and one view are enough

    await page.click(`tr[data-job="${plan.job}"] a`);
    await page.waitForSelector("#tasks");
    await page.waitForSelector("#job-findings");
    out.views.job_findings = await rows(page, "#job-findings");
    out.views.job_tasks = await rows(page, "#tasks");
    await shot(page, "2-job");

    // Pause the job from the page.
    await page.click('button[data-action="pause job"]');
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("pause job:"));
    out.views.pause_status = await page.$eval("#status", (e) => e.textContent);
    await page.waitForFunction(() => document.getElementById("job-summary").innerText.startsWith("Job paused"), { timeout: 15000 });
    out.views.job_summary_after_pause = await page.$eval("#job-summary", (e) => e.innerText);

    // Cancel one task from the page.
    await page.click(`tr[data-task="${plan.cancel_task}"] button[data-action="cancel"]`);
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("cancel:"));
    out.views.cancel_status = await page.$eval("#status", (e) => e.textContent);
    await page.waitForFunction((t) => {
      const r = document.querySelector(`tr[data-task="${t}"]`);
      return r && r.cells[2].innerText.trim() === "cancelled";
    }, { timeout: 15000 }, plan.cancel_task);
    out.views.job_tasks_after_cancel = await rows(page, "#tasks");
    await shot(page, "3-job-after-cancel");

    await page.click('nav a[href="#/findings"]');
    await page.waitForSelector("#findings");
    out.views.findings = await rows(page, "#findings");
    await shot(page, "4-findings");

    if (out.views.findings.length) {
      await page.click("#findings tbody tr td:nth-child(4) a");
      await page.waitForSelector("#history");
      out.views.history = await rows(page, "#history");
      // Its task's report, opened through the signed API.
      await page.waitForSelector("#reports tbody tr");
      out.views.reports = await rows(page, "#reports");
      await page.click('#reports tbody tr button[data-action="open report"]');
      await page.waitForSelector("#report-text");
      out.views.report_text = await page.$eval("#report-text", (e) => e.innerText);
      await shot(page, "5-instance");
      await page.click('#panel button[data-action="close"]');
    }

    if (plan.reschedule) {
      // Reschedule a host-maintenance task in its zone: too late first (the
      // seed's refusal, inline), then a time it takes.
      const r = plan.reschedule;
      await page.evaluate((u) => (location.hash = "#/instance/" + encodeURIComponent(u)), r.instance);
      await page.waitForSelector(`tr[data-task="${r.task}"] button[data-action="reschedule"]`);
      await page.click(`tr[data-task="${r.task}"] button[data-action="reschedule"]`);
      await page.waitForSelector("#reschedule-form");
      const res = { zone_note: await page.$eval("#panel", (e) => e.innerText) };
      await page.$eval("#reschedule-when", (e, v) => (e.value = v), r.too_late);
      const before = out.console_errors.length;
      await page.click('#reschedule-form button[type="submit"]');
      await page.waitForFunction(() => document.getElementById("reschedule-refusal").textContent.length > 0);
      res.refusal = await page.$eval("#reschedule-refusal", (e) => e.textContent);
      // The refusal's 400, expected (Chromium logs every failed fetch); any other error stays.
      out.console_errors = out.console_errors.slice(0, before).concat(
        out.console_errors.slice(before).filter((m) => !m.includes("status of 400")));
      await shot(page, "6-reschedule-refused");
      await page.$eval("#reschedule-when", (e, v) => (e.value = v), r.when);
      await page.click('#reschedule-form button[type="submit"]');
      await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("reschedule:"));
      res.status = await page.$eval("#status", (e) => e.textContent);
      out.views.reschedule = res;
    }
  } finally {
    await browser.close();
  }
})()
  .then(() => process.stdout.write(JSON.stringify(out) + "\n"))
  .catch((e) => {
    console.error("drive.js: " + (e && e.stack ? e.stack : e));
    process.exit(1);
  });

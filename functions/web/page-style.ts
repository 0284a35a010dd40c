/**
 * The page's stylesheet, inlined under a CSP hash: system fonts, light and dark from
 * `prefers-color-scheme`, colours that keep WCAG AA contrast in both, visible focus.
 */
export const PAGE_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #fbfbfa; --fg: #1c1c1c; --muted: #545454; --card: #fff; --line: #d5d5d0;
  --accent: #1a5fb4; --accent-fg: #fff; --focus: #f5c211;
  --open: #137333; --closed: #b3261e; --filtered: #8a5300;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #161718; --fg: #ececec; --muted: #b4b4b4; --card: #202224; --line: #3d4044;
    --accent: #78aeed; --accent-fg: #0b1a2c; --focus: #f5c211;
    --open: #57e389; --closed: #ff7b72; --filtered: #f8c45c;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .25rem; }
p, ul { margin: .4rem 0; }
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .95em; }
.lede { color: var(--muted); margin-top: 0; }
section.card > h2:first-child { margin-top: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
.address { font-size: 1.3rem; font-weight: 700; overflow-wrap: anywhere; }
label { display: block; font-weight: 600; margin-bottom: .3rem; }
.row { display: flex; gap: .5rem; flex-wrap: wrap; }
input[type="text"] {
  flex: 1 1 14rem; font: inherit; padding: .45rem .6rem; color: var(--fg); background: var(--bg);
  border: 1px solid var(--muted); border-radius: 6px;
}
button {
  font: inherit; font-weight: 600; padding: .45rem 1.1rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg);
}
button:disabled { opacity: .6; cursor: progress; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.hint { color: var(--muted); font-size: .9rem; }
.presets { display: flex; flex-wrap: wrap; gap: .4rem; padding: 0; list-style: none; margin: .6rem 0 0; }
.presets a {
  display: inline-block; padding: .15rem .6rem; border: 1px solid var(--line); border-radius: 999px;
  text-decoration: none; color: var(--fg); font-size: .9rem;
}
.presets a:hover { border-color: var(--accent); }
.verdict { border-left: 6px solid var(--line); }
.verdict-open { border-left-color: var(--open); }
.verdict-closed { border-left-color: var(--closed); }
.verdict-filtered, .verdict-open-filtered, .verdict-untestable { border-left-color: var(--filtered); }
.state { font-weight: 700; text-transform: uppercase; letter-spacing: .03em; }
.verdict-open .state { color: var(--open); }
.verdict-closed .state { color: var(--closed); }
.verdict-filtered .state, .verdict-open-filtered .state, .verdict-untestable .state { color: var(--filtered); }
.problem { border-left: 6px solid var(--closed); }
.notice { border-left: 6px solid var(--filtered); }
.meta { color: var(--muted); font-size: .9rem; }
.recheck { border-left: 3px solid var(--filtered); padding-left: .6rem; }
.checking { font-style: italic; }
.families-table { border-collapse: collapse; margin: .6rem 0; }
.families-table th, .families-table td { text-align: left; padding: .3rem 1.2rem .3rem 0; border-bottom: 1px solid var(--line); }
.families-table td.verdict-open .state { color: var(--open); }
.families-table td.verdict-closed .state { color: var(--closed); }
.families-table td.verdict-filtered .state, .families-table td.verdict-untestable .state { color: var(--filtered); }
.diagnosis { padding-left: 1.2rem; font-weight: 600; }
.families { display: grid; gap: 0 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); }
.family-heading { margin-top: .8rem; }
.note { border-left: 6px solid var(--line); }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .9rem; }
`;

/**
 * The live block of a VM's page: its state, the operation and step under way, as rendered (what a page without
 * JavaScript shows), then kept current by /assets/live.js over the VM's event stream (live.ts): the lock, the
 * bytes a copy step has written and the newest journal entries appear only there. Fields carry data-live
 * names the script fills; rows that do not apply are `hidden` (no inline style: the CSP forbids it).
 */
import type { Vm } from '../model.js';
import { html, type Html } from './html.js';

function stepRow(vm: Vm): Html {
  const plan = vm.plan ?? [];
  const index = Math.min(vm.step ?? 0, plan.length - 1);
  const step = vm.operation !== null && index >= 0 ? plan[index] : undefined;
  const status = vm.state === 'FAILED' ? 'failed' : 'under way';
  return html`<div data-row="step"${step ? '' : html` hidden`}><dt>Step</dt><dd><span data-live="step">${step ? `${index + 1}/${plan.length}` : ''}</span> <code data-live="action">${step?.action ?? ''}</code> <span class="muted" data-live="driver">${step ? `(${step.kind} ${step.driver})` : ''}</span> <span data-live="why">${step?.why ?? ''}</span> <span class="live-status" data-live="step-status">${step ? status : ''}</span></dd></div>`;
}

export function liveBlock(vm: Vm): Html {
  return html`<section class="live" data-vm="${vm.id}">
<h2>Now <span class="live-conn muted" data-live="conn" hidden></span></h2>
<dl class="live-fields">
<div><dt>State</dt><dd><strong class="vm-state state-${vm.state}" data-live="state">${vm.state}</strong> <span class="muted" data-live="finished"></span></dd></div>
<div><dt>Operation</dt><dd data-live="operation">${vm.operation ?? 'none'}</dd></div>
${stepRow(vm)}
<div data-row="lock" hidden><dt>Lock</dt><dd data-live="lock"></dd></div>
<div data-row="copy" hidden><dt>Copied</dt><dd><progress class="live-copy" data-live="copy-bar"></progress> <span data-live="copy-text"></span></dd></div>
<div data-row="error"${vm.error ? '' : html` hidden`}><dt>Error</dt><dd class="bad" data-live="error">${vm.error ?? ''}</dd></div>
</dl>
<div data-row="journal" hidden><h3>Latest driver actions</h3><ol class="live-journal" data-live="journal"></ol></div>
<script src="/assets/live.js" defer></script>
</section>`;
}

/** API process settings: ordered tasks (drag or keyboard to reorder), each kind's form, settings, versions with a diff, and a dry run against an entity. */
import { useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DndContext, KeyboardSensor, PointerSensor, closestCenter, useSensor, useSensors, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, arrayMove, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { api, ApiError, get, qs, type Page } from '../api';
import { useSession } from '../session';
import { useEntityTypes } from '../Layout';
import { Chip, ErrorBox, Loading, PageHead, Time } from '../components/ui';
import { KINDS, newTask, TaskEditor } from '../components/TaskEditor';
import { StepList } from '../components/Steps';
import { diffLines } from '../components/diff';
import type { ExprError } from '../components/ExpressionEditor';
import type { Connection, Entity, Process, ProcessVersion, Run, Task } from '../types';

type Draft = Omit<Process, 'key' | 'version' | 'createdAt' | 'updatedAt' | 'runs'>;
type Tab = 'tasks' | 'settings' | 'versions' | 'test';

function draftOf(p: Process): Draft {
  return { name: p.name, entityType: p.entityType, trigger: p.trigger, enabled: p.enabled, settings: p.settings ?? {}, tasks: p.tasks };
}

/** API field errors (`tasks[2].input.path`) by task index and field. */
function taskErrors(err: unknown): { byTask: Map<number, Record<string, ExprError>>; other: string[] } {
  const byTask = new Map<number, Record<string, ExprError>>();
  const other: string[] = [];
  const fields = (err as { details?: { fields?: { path: string; code: string; message: string; line?: number; column?: number }[] } } | null)?.details?.fields ?? [];
  for (const f of fields) {
    const m = /^tasks\[(\d+)\]\.?(.*)$/.exec(f.path);
    if (!m) {
      other.push(`${f.path}: ${f.message}`);
      continue;
    }
    const i = Number(m[1]);
    const rec = byTask.get(i) ?? {};
    const key = m[2] === 'when' || m[2]?.startsWith('input.') || m[2] === 'connection' ? m[2] : 'other';
    rec[key] = { message: f.message, code: f.code, line: f.line, column: f.column };
    byTask.set(i, rec);
  }
  return { byTask, other };
}

export function ProcessSettings() {
  const { key = '' } = useParams();
  const proc = useQuery({ queryKey: ['process', key], queryFn: ({ signal }) => get<Process>(`/processes/${key}`, signal) });
  if (proc.error) return <ErrorBox error={proc.error} />;
  if (!proc.data) return <Loading />;
  return <Editor key={`${key}`} process={proc.data} />;
}

function Editor({ process: p }: { process: Process }) {
  const { can } = useSession();
  const readOnly = !can.definitions;
  const client = useQueryClient();
  const [tab, setTab] = useState<Tab>('tasks');
  const [draft, setDraft] = useState<Draft>(() => draftOf(p));
  const [openTask, setOpenTask] = useState<string | null>(p.tasks[0]?.key ?? null);
  const [saved, setSaved] = useState<number | null>(null);
  const types = useEntityTypes();
  const connections = useQuery({ queryKey: ['connections'], queryFn: ({ signal }) => get<Page<Connection>>('/connections?limit=500', signal) });
  const et = types.data?.items.find((t) => t.key === draft.entityType);
  const dirty = JSON.stringify(draft) !== JSON.stringify(draftOf(p));
  // Task ids for dnd-kit: stable while keys are being edited.
  const [ids, setIds] = useState(() => draft.tasks.map((_, i) => `task-${i}`));
  useEffect(() => {
    if (!dirty) setDraft(draftOf(p));
  }, [p.version]);

  const save = useMutation({
    mutationFn: (d: Draft) => api<Process>('PUT', `/processes/${p.key}`, { body: d }),
    onSuccess: (next) => {
      client.setQueryData(['process', p.key], next);
      void client.invalidateQueries({ queryKey: ['processes'] });
      void client.invalidateQueries({ queryKey: ['versions', p.key] });
      setDraft(draftOf(next));
      setSaved(next.version);
    },
  });
  const errs = taskErrors(save.error);
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 4 } }), useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }));
  const onDragEnd = (e: DragEndEvent) => {
    if (!e.over || e.active.id === e.over.id) return;
    const from = ids.indexOf(String(e.active.id));
    const to = ids.indexOf(String(e.over.id));
    setIds(arrayMove(ids, from, to));
    setDraft({ ...draft, tasks: arrayMove(draft.tasks, from, to) });
  };
  const setTask = (i: number, t: Task) => setDraft({ ...draft, tasks: draft.tasks.map((x, j) => (j === i ? t : x)) });
  const removeTask = (i: number) => {
    setIds(ids.filter((_, j) => j !== i));
    setDraft({ ...draft, tasks: draft.tasks.filter((_, j) => j !== i) });
  };
  const move = (i: number, d: number) => {
    const j = i + d;
    if (j < 0 || j >= draft.tasks.length) return;
    setIds(arrayMove(ids, i, j));
    setDraft({ ...draft, tasks: arrayMove(draft.tasks, i, j) });
  };
  const [addKind, setAddKind] = useState('http.request');
  const addTask = () => {
    const t = newTask(addKind, draft.tasks);
    setIds([...ids, `task-${Date.now()}`]);
    setDraft({ ...draft, tasks: [...draft.tasks, t] });
    setOpenTask(t.key);
  };

  return (
    <>
      <PageHead
        crumbs={<Link to="/processes">API processes</Link>}
        title={draft.name || p.key}
        sub={
          <span className="row">
            <span className="mono small">{p.key}</span> · version {p.version} · {p.entityType} · {p.trigger.status ? `runs when it enters “${p.trigger.status}”` : 'manual only'}
            <span className={`chip ${p.enabled ? 'on' : 'off'}`}>{p.enabled ? 'enabled' : 'disabled'}</span>
          </span>
        }
        actions={
          !readOnly ? (
            <>
              {dirty ? (
                <button className="ghost" onClick={() => setDraft(draftOf(p))}>
                  Discard changes
                </button>
              ) : null}
              <button className="primary" disabled={!dirty || save.isPending} onClick={() => save.mutate(draft)}>
                {save.isPending ? 'Saving…' : 'Save as new version'}
              </button>
            </>
          ) : null
        }
      />
      {saved && !dirty ? (
        <div className="note" role="status" style={{ marginBottom: 12 }}>
          Saved as version {saved}.
        </div>
      ) : null}
      <ErrorBox error={save.error} title="Not saved" />
      {errs.other.length ? (
        <ul className="field-error">
          {errs.other.map((o) => (
            <li key={o}>{o}</li>
          ))}
        </ul>
      ) : null}
      <div className="tabs" role="tablist" aria-label="Process settings">
        {(['tasks', 'settings', 'versions', 'test'] as Tab[]).map((t) => (
          <button key={t} role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls={`panel-${t}`} onClick={() => setTab(t)}>
            {t === 'tasks' ? `Tasks (${draft.tasks.length})` : t === 'settings' ? 'Settings' : t === 'versions' ? 'Version history' : 'Test against an entity'}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'tasks' ? (
          <div className="stack">
            {draft.tasks.length > 1 && !readOnly ? <p className="muted small" style={{ margin: 0 }}>Drag ⠿ to reorder, or focus it and press Space, the arrow keys, then Space. Open tasks fold while one moves.</p> : null}
            {draft.tasks.length === 0 ? <div className="note">No task yet: add the first one below. Tasks run in order; each can use the outputs of those before it.</div> : null}
            <DndContext sensors={sensors} collisionDetection={closestCenter} onDragStart={() => setOpenTask(null)} onDragEnd={onDragEnd}>
              <SortableContext items={ids} strategy={verticalListSortingStrategy}>
                <ol className="tasks" aria-label="Tasks in order">
                  {draft.tasks.map((t, i) => (
                    <SortableTask
                      key={ids[i]}
                      id={ids[i]!}
                      index={i}
                      count={draft.tasks.length}
                      task={t}
                      open={openTask === t.key}
                      onToggle={() => setOpenTask(openTask === t.key ? null : t.key)}
                      onMove={(d) => move(i, d)}
                      onRemove={() => removeTask(i)}
                      readOnly={readOnly}
                      hasError={errs.byTask.has(i)}
                    >
                      <TaskEditor task={t} index={i} onChange={(nt) => setTask(i, nt)} connections={connections.data?.items ?? []} types={types.data?.items ?? []} errors={errs.byTask.get(i) ?? {}} readOnly={readOnly} />
                    </SortableTask>
                  ))}
                </ol>
              </SortableContext>
            </DndContext>
            {!readOnly ? (
              <div className="row">
                <label className="sr-only" htmlFor="add-kind">
                  Kind of the new task
                </label>
                <select id="add-kind" value={addKind} onChange={(e) => setAddKind(e.target.value)}>
                  {KINDS.map((k) => (
                    <option key={k.kind} value={k.kind}>
                      {k.label} ({k.kind})
                    </option>
                  ))}
                </select>
                <button onClick={addTask}>+ Add task</button>
              </div>
            ) : null}
          </div>
        ) : null}
        {tab === 'settings' ? <SettingsForm draft={draft} setDraft={setDraft} statuses={et?.statuses ?? []} readOnly={readOnly} /> : null}
        {tab === 'versions' ? <Versions process={p} /> : null}
        {tab === 'test' ? <TestRun process={p} dirty={dirty} /> : null}
      </div>
    </>
  );
}

function SortableTask(props: { id: string; index: number; count: number; task: Task; open: boolean; onToggle(): void; onMove(d: number): void; onRemove(): void; readOnly: boolean; hasError: boolean; children: React.ReactNode }) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: props.id, disabled: props.readOnly });
  const t = props.task;
  return (
    <li ref={setNodeRef} className="task" style={{ transform: CSS.Transform.toString(transform), transition, opacity: isDragging ? 0.7 : 1, borderColor: props.hasError ? 'var(--bad)' : undefined }} data-task={t.key}>
      <div className="task-head">
        {!props.readOnly ? (
          <button className="ghost icon handle" {...attributes} {...listeners} aria-label={`Reorder ${t.key}: press space, then the arrow keys`}>
            ⠿
          </button>
        ) : null}
        <span className="muted small" style={{ width: 18 }}>
          {props.index + 1}.
        </span>
        <button className="ghost" onClick={props.onToggle} aria-expanded={props.open} style={{ padding: '2px 4px' }}>
          <strong>{t.key}</strong>
        </button>
        <span className="mono small muted">{t.kind}</span>
        {t.connection ? <span className="small muted">via {t.connection}</span> : null}
        {t.when ? <span className="small muted">when {t.when}</span> : null}
        {props.hasError ? <span className="chip failed">error</span> : null}
        <span className="spacer" />
        {!props.readOnly ? (
          <>
            <button className="icon ghost" aria-label={`Move ${t.key} up`} disabled={props.index === 0} onClick={() => props.onMove(-1)}>
              ↑
            </button>
            <button className="icon ghost" aria-label={`Move ${t.key} down`} disabled={props.index === props.count - 1} onClick={() => props.onMove(1)}>
              ↓
            </button>
            <button className="icon ghost danger" aria-label={`Remove ${t.key}`} onClick={props.onRemove}>
              ✕
            </button>
          </>
        ) : null}
      </div>
      {props.open ? props.children : null}
    </li>
  );
}

function SettingsForm({ draft, setDraft, statuses, readOnly }: { draft: Draft; setDraft(d: Draft): void; statuses: { key: string; name?: string }[]; readOnly: boolean }) {
  const s = draft.settings ?? {};
  const r = s.retry ?? {};
  const num = (v: string) => (v === '' ? undefined : Number(v));
  const setRetry = (k: string, v: string) => setDraft({ ...draft, settings: { ...s, retry: { ...r, [k]: num(v) } } });
  return (
    <div className="stack">
      <section className="card form-grid">
        <label className="field">
          <span>Name</span>
          <input disabled={readOnly} value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </label>
        <label className="field">
          <span>Trigger</span>
          <select
            disabled={readOnly}
            value={draft.trigger.status ?? ''}
            onChange={(e) => setDraft({ ...draft, trigger: e.target.value ? { status: e.target.value } : { manual: true } })}
          >
            <option value="">Manual only</option>
            {statuses.map((st) => (
              <option key={st.key} value={st.key}>
                When it enters “{st.name ?? st.key}”
              </option>
            ))}
          </select>
        </label>
        <label className="switch" style={{ alignSelf: 'end' }}>
          <input type="checkbox" disabled={readOnly} checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} /> Enabled
        </label>
      </section>
      <section className="card">
        <h2>Retry, concurrency, timeout</h2>
        <div className="form-grid">
          <label className="field">
            <span>Max attempts</span>
            <input type="number" min={1} disabled={readOnly} value={r.maxAttempts ?? ''} onChange={(e) => setRetry('maxAttempts', e.target.value)} />
          </label>
          <label className="field">
            <span>First retry after (ms)</span>
            <input type="number" min={0} disabled={readOnly} value={r.initialDelayMs ?? ''} onChange={(e) => setRetry('initialDelayMs', e.target.value)} />
          </label>
          <label className="field">
            <span>Longest wait between retries (ms)</span>
            <input type="number" min={0} disabled={readOnly} value={r.maxDelayMs ?? ''} onChange={(e) => setRetry('maxDelayMs', e.target.value)} />
          </label>
          <label className="field">
            <span>Step timeout (ms)</span>
            <input type="number" min={1} disabled={readOnly} value={s.timeoutMs ?? ''} onChange={(e) => setDraft({ ...draft, settings: { ...s, timeoutMs: num(e.target.value) } })} />
          </label>
          <label className="field">
            <span>Runs at once (concurrency)</span>
            <input type="number" min={1} disabled={readOnly} value={s.concurrency ?? ''} onChange={(e) => setDraft({ ...draft, settings: { ...s, concurrency: num(e.target.value) } })} />
          </label>
        </div>
      </section>
    </div>
  );
}

function Versions({ process: p }: { process: Process }) {
  const versions = useQuery({ queryKey: ['versions', p.key], queryFn: ({ signal }) => get<Page<ProcessVersion>>(`/processes/${p.key}/versions?limit=100`, signal) });
  const [sel, setSel] = useState<number | null>(null);
  const items = versions.data?.items ?? [];
  const chosen = items.find((v) => v.version === sel) ?? items[0];
  const before = chosen ? items.find((v) => v.version < chosen.version) : undefined;
  const text = (v?: ProcessVersion) => {
    if (!v) return '';
    const { version: _v, createdAt: _c, ...def } = v;
    return JSON.stringify(def, null, 2);
  };
  const diff = useMemo(() => diffLines(text(before), text(chosen)), [before, chosen]);
  if (versions.error) return <ErrorBox error={versions.error} />;
  if (!versions.data) return <Loading />;
  return (
    <div className="grid2" style={{ gridTemplateColumns: 'minmax(180px, 260px) 1fr' }}>
      <ol className="checklist" aria-label="Versions">
        {items.map((v) => (
          <li key={v.version}>
            <span />
            <button className={chosen?.version === v.version ? 'primary' : ''} aria-current={chosen?.version === v.version} onClick={() => setSel(v.version)} style={{ width: '100%', justifyContent: 'space-between' }}>
              <span>Version {v.version}</span>
              <span className="small">
                <Time iso={v.createdAt} />
              </span>
            </button>
          </li>
        ))}
      </ol>
      <section className="card" aria-label="Changes">
        <h2>{before ? `Version ${before.version} → ${chosen!.version}` : `Version ${chosen?.version} (first)`}</h2>
        <pre className="diff" style={{ maxHeight: 520 }} tabIndex={0} aria-label="Differences between the versions">
          {diff.map((l, i) => (
            <div key={i} style={{ background: l.op === '+' ? 'var(--ok-bg)' : l.op === '-' ? 'var(--bad-bg)' : undefined, color: l.op === '+' ? 'var(--ok)' : l.op === '-' ? 'var(--bad)' : undefined }}>
              {l.op} {l.text}
            </div>
          ))}
        </pre>
      </section>
    </div>
  );
}

function TestRun({ process: p, dirty }: { process: Process; dirty: boolean }) {
  const recent = useQuery({ queryKey: ['entities', p.entityType, { recent: true }], queryFn: ({ signal }) => get<Page<Entity>>(`/entities/${p.entityType}${qs({ limit: 20 })}`, signal) });
  const [entityId, setEntityId] = useState('');
  const id = entityId || recent.data?.items[0]?.id || '';
  const dry = useMutation({ mutationFn: () => api<{ run: Run }>('POST', `/entities/${p.entityType}/${id}/process`, { body: { process: p.key, dryRun: true } }) });
  return (
    <div className="stack">
      <p className="muted" style={{ margin: 0 }}>
        A dry run evaluates every task’s condition and input against a real entity with the saved version {p.version}; nothing is sent or written.
        {dirty ? ' Save your changes first to test them.' : ''}
      </p>
      <div className="row">
        <label className="field" style={{ minWidth: 320 }}>
          <span>Entity</span>
          <select value={id} onChange={(e) => setEntityId(e.target.value)}>
            {recent.data?.items.map((e) => (
              <option key={e.id} value={e.id}>
                {e.id.slice(-8)} · {e.status} · {Object.values(e.attributes).slice(0, 2).map(String).join(' · ')}
              </option>
            ))}
          </select>
        </label>
        <button className="primary" style={{ alignSelf: 'end' }} disabled={!id || dry.isPending} onClick={() => dry.mutate()}>
          {dry.isPending ? 'Evaluating…' : 'Dry run'}
        </button>
      </div>
      {recent.data && recent.data.items.length === 0 ? <div className="note">No {p.entityType} entity exists yet to test against.</div> : null}
      <ErrorBox error={dry.error instanceof ApiError ? dry.error : dry.error} />
      {dry.data ? (
        <section aria-label="Dry run result">
          <div className="row" style={{ marginBottom: 8 }}>
            <h3 style={{ margin: 0 }}>Result</h3> <Chip value={dry.data.run.status} />
          </div>
          {dry.data.run.error ? (
            <div className="alert" style={{ marginBottom: 8 }}>
              <code>{dry.data.run.error.code}</code> {dry.data.run.error.message}
            </div>
          ) : null}
          <StepList run={dry.data.run} open />
        </section>
      ) : null}
    </div>
  );
}

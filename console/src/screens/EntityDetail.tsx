import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get, type Page } from '../api';
import { useSession } from '../session';
import { useEntityTypes } from '../Layout';
import { Chip, ErrorBox, Loading, PageHead, ProcessIcon, Time, RefusedRequirements } from '../components/ui';
import { AttributeForm, fieldErrors, fromDraft, toDraft, type Draft } from '../components/AttributeForm';
import { ProcessEntityModal } from './ProcessEntityModal';
import type { Entity, EntityEvent, EntityType, Link as EntityLink, Run } from '../types';

export function EntityDetail() {
  const { type = '', id = '' } = useParams();
  const { can } = useSession();
  const [processing, setProcessing] = useState(false);
  const types = useEntityTypes();
  const et = types.data?.items.find((t) => t.key === type);
  const entity = useQuery({ queryKey: ['entity', type, id], queryFn: ({ signal }) => get<Entity>(`/entities/${type}/${id}`, signal) });

  if (entity.error) return <ErrorBox error={entity.error} />;
  if (!entity.data || !et) return <Loading />;
  const e = entity.data;
  return (
    <>
      <PageHead
        crumbs={<Link to={`/entities/${type}`}>{et.name}</Link>}
        title={String(e.attributes[et.attributes[0]?.key ?? ''] ?? e.id.slice(-8))}
        sub={
          <span className="row">
            <Chip kind="status" value={e.status} />
            <span className="small">
              <span className="mono">{e.id}</span> · version {e.version} · updated <Time iso={e.updatedAt} />
            </span>
          </span>
        }
        actions={
          can.entities ? (
            <>
              <MoveTo et={et} entity={e} />
              <button className="primary" onClick={() => setProcessing(true)}>
                <ProcessIcon /> Process entity
              </button>
            </>
          ) : null
        }
      />
      <div className="grid2 entity">
        <div className="stack">
          <Attributes et={et} entity={e} />
          <Runs type={type} id={id} />
          <Links type={type} id={id} />
        </div>
        <div className="stack">
          <Checklist et={et} entity={e} />
          <Timeline id={id} type={type} et={et} />
        </div>
      </div>
      {processing ? <ProcessEntityModal entity={e} onClose={() => setProcessing(false)} /> : null}
    </>
  );
}

/** Manual transitions out of the current status ("only when asked"), as buttons; refused ones say why. */
function MoveTo({ et, entity }: { et: EntityType; entity: Entity }) {
  const client = useQueryClient();
  const targets = [...new Set(et.transitions.filter((t) => !t.auto && t.from.includes(entity.status)).map((t) => t.to))];
  const move = useMutation({
    mutationFn: (status: string) => api<Entity>('PATCH', `/entities/${et.key}/${entity.id}`, { body: { status }, headers: { 'if-match': `"${entity.version}"` } }),
    onSuccess: (saved) => {
      client.setQueryData(['entity', et.key, entity.id], saved);
      void client.invalidateQueries({ queryKey: ['events', entity.id] });
    },
  });
  if (targets.length === 0) return null;
  return (
    <>
      {targets.map((to) => (
        <button key={to} onClick={() => move.mutate(to)} disabled={move.isPending}>
          Move to {et.statuses.find((s) => s.key === to)?.name ?? to}
        </button>
      ))}
      {move.error ? (
        <span className="field-error" role="alert">
          <code>{(move.error as ApiError).code}</code> {(move.error as ApiError).message}
        </span>
      ) : null}
    </>
  );
}

function Attributes({ et, entity }: { et: EntityType; entity: Entity }) {
  const { can } = useSession();
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => toDraft(et.attributes, entity.attributes));
  const [base, setBase] = useState(entity.version);
  /** The attributes the edit started from: only the fields changed since are sent, so a save over a newer version keeps its other changes. */
  const [baseAttrs, setBaseAttrs] = useState(entity.attributes);
  const [localError, setLocalError] = useState<string | null>(null);
  const dirty = JSON.stringify(draft) !== JSON.stringify(toDraft(et.attributes, baseAttrs));
  // A save elsewhere (stream) refreshes the form when nothing is being edited here.
  useEffect(() => {
    if (!dirty) {
      setDraft(toDraft(et.attributes, entity.attributes));
      setBase(entity.version);
      setBaseAttrs(entity.attributes);
    }
  }, [entity.version]);
  const save = useMutation({
    mutationFn: (attributes: Record<string, unknown>) =>
      api<Entity>('PATCH', `/entities/${et.key}/${entity.id}`, { body: { attributes }, headers: { 'if-match': `"${base}"` } }),
    onSuccess: (saved) => {
      client.setQueryData(['entity', et.key, entity.id], saved);
      setDraft(toDraft(et.attributes, saved.attributes));
      setBase(saved.version);
      setBaseAttrs(saved.attributes);
      void client.invalidateQueries({ queryKey: ['events', entity.id] });
    },
  });
  const submit = () => {
    setLocalError(null);
    try {
      save.mutate(fromDraft(et.attributes, draft, baseAttrs));
    } catch (err) {
      setLocalError((err as Error).message);
    }
  };
  const conflict = save.error instanceof ApiError && save.error.status === 409;
  return (
    <section className="card" aria-labelledby="attrs-h">
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          submit();
        }}
        className="stack"
        style={{ gap: 12 }}
      >
        <div className="row">
          <h2 id="attrs-h" style={{ margin: 0 }}>Attributes</h2>
          <span className="spacer" />
          {can.entities ? (
            <>
              {dirty ? (
                <button
                  type="button"
                  className="ghost"
                  onClick={() => {
                    setDraft(toDraft(et.attributes, entity.attributes));
                    setBaseAttrs(entity.attributes);
                    setBase(entity.version);
                    save.reset();
                  }}
                >
                  Discard
                </button>
              ) : null}
              <button type="submit" className="primary" disabled={!dirty || save.isPending}>
                {save.isPending ? 'Saving…' : 'Save'}
              </button>
            </>
          ) : null}
        </div>
        <AttributeForm idPrefix="attr" attrs={et.attributes} draft={draft} onChange={setDraft} errors={fieldErrors(save.error)} readOnly={!can.entities} />
        {localError ? <div className="alert" role="alert">{localError}</div> : null}
        {conflict ? (
          <div className="alert" role="alert">
            <code>{(save.error as ApiError).code}</code> Someone saved this entity since you started editing (now version {entity.version}); your change was refused, not lost. Saving over it sends only the fields you changed.{' '}
            <button
              type="button"
              onClick={() => {
                setBase(entity.version);
                save.reset();
              }}
            >
              Keep my edits and save over version {entity.version}
            </button>
          </div>
        ) : (
          <ErrorBox error={save.error} title="Not saved" />
        )}
        <RefusedRequirements error={save.error} />
      </form>
    </section>
  );
}

function Checklist({ et, entity }: { et: EntityType; entity: Entity }) {
  const reqs = entity.requirements ?? [];
  const failing = reqs.filter((r) => !r.passed).length;
  // Which transitions out of the current status each failing requirement blocks: "why not Received?".
  const next = et.transitions.filter((t) => t.from.includes(entity.status));
  return (
    <section className="card" aria-labelledby="req-h">
      <div className="row" style={{ marginBottom: 10 }}>
        <h2 id="req-h" style={{ margin: 0 }}>Requirements</h2>
        <span className="spacer" />
        <span className="small muted">{reqs.length === 0 ? 'none defined' : failing ? `${failing} of ${reqs.length} failing` : `all ${reqs.length} passed`}</span>
      </div>
      {reqs.length ? (
        <ul className="checklist">
          {reqs.map((r) => {
            const blocks = next.filter((t) => t.when?.includes(r.key)).map((t) => et.statuses.find((s) => s.key === t.to)?.name ?? t.to);
            return (
              <li key={r.key} className={r.passed ? 'ok' : 'fail'} data-requirement={r.key}>
                <span className="mark" aria-label={r.passed ? 'passed' : 'failed'}>
                  {r.passed ? '✓' : '✕'}
                </span>
                <span>
                  <strong>{r.key}</strong> <span className="small muted">{r.passed ? 'passed' : 'failed'}</span>
                  <br />
                  <span>{r.message}</span>
                  {r.error ? (
                    <span className="small">
                      <br />
                      <code>{r.error.code}</code> {r.error.message}
                    </span>
                  ) : null}
                  {!r.passed && blocks.length ? <span className="small muted"><br />Needed to move to {blocks.join(', ')}</span> : null}
                </span>
              </li>
            );
          })}
        </ul>
      ) : (
        <p className="muted">This type has no requirements.</p>
      )}
    </section>
  );
}

function Timeline({ id, type, et }: { id: string; type: string; et: EntityType }) {
  const events = useQuery({ queryKey: ['events', id], queryFn: ({ signal }) => get<Page<EntityEvent>>(`/entities/${type}/${id}/events?limit=500`, signal) });
  const name = (k: unknown) => et.statuses.find((s) => s.key === k)?.name ?? String(k);
  return (
    <section className="card" aria-labelledby="tl-h">
      <h2 id="tl-h">Status timeline</h2>
      <ErrorBox error={events.error} />
      {events.data ? (
        <ol className="timeline">
          {[...events.data.items].reverse().map((ev) => {
            const path = (ev.statusPath as string[] | undefined) ?? [];
            const moved = ev.statusBefore !== ev.statusAfter;
            const changes = Object.keys((ev.changes as object) ?? {});
            const actor = (ev.actor as { name?: string; type?: string } | undefined) ?? {};
            return (
              <li key={String(ev.id)}>
                <div>
                  <strong>{ev.kind === 'created' ? `Created in ${name(ev.statusAfter)}` : moved ? path.map(name).join(' → ') : 'Saved'}</strong>
                </div>
                <div className="small muted">
                  <Time iso={ev.createdAt as string} /> · {actor.name ?? actor.type ?? 'unknown'}
                  {changes.length ? ` · changed ${changes.join(', ')}` : ''}
                </div>
              </li>
            );
          })}
        </ol>
      ) : (
        <div className="skeleton" />
      )}
    </section>
  );
}

function Runs({ type, id }: { type: string; id: string }) {
  const runs = useQuery({ queryKey: ['entity-runs', id], queryFn: ({ signal }) => get<Page<Run>>(`/entities/${type}/${id}/runs?limit=20`, signal) });
  return (
    <section className="card" aria-labelledby="runs-h">
      <h2 id="runs-h">Runs</h2>
      {runs.error && !(runs.error instanceof ApiError && runs.error.status === 404) ? <ErrorBox error={runs.error} /> : null}
      {runs.data && runs.data.items.length === 0 ? <p className="muted">No process has run for this entity yet.</p> : null}
      {runs.data && runs.data.items.length > 0 ? (
        <table aria-label="Runs of this entity">
          <thead>
            <tr>
              <th scope="col">Process</th>
              <th scope="col">Status</th>
              <th scope="col">Trigger</th>
              <th scope="col">Queued</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link to={`/runs/${r.id}`}>{r.process}</Link> <span className="muted small">v{r.processVersion}</span>
                </td>
                <td>
                  <Chip value={r.status} />
                  {r.error ? <span className="small mono"> {r.error.code}</span> : null}
                </td>
                <td className="small">{r.trigger.type === 'status' ? `entered ${r.trigger.status}` : r.trigger.type}</td>
                <td>
                  <Time iso={r.queuedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function Links({ type, id }: { type: string; id: string }) {
  const links = useQuery({ queryKey: ['links', id], queryFn: ({ signal }) => get<EntityLink[] | Page<EntityLink>>(`/entities/${type}/${id}/links`, signal) });
  const items = Array.isArray(links.data) ? links.data : (links.data?.items ?? []);
  return (
    <section className="card" aria-labelledby="links-h">
      <h2 id="links-h">Links</h2>
      <ErrorBox error={links.error} />
      {links.data && items.length === 0 ? <p className="muted" style={{ margin: 0 }}>Not linked elsewhere yet. Tasks that create records in HubSpot or Dropbox keep a link here.</p> : null}
      {items.length ? (
        <table aria-label="Links">
          <thead>
            <tr>
              <th scope="col">Connection</th>
              <th scope="col">Record</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {items.map((l) => (
              <tr key={`${l.connection}-${l.externalType}-${l.externalId}`}>
                <td>
                  {l.connection} <span className="muted small">{l.provider}</span>
                </td>
                <td>
                  {l.externalType}{' '}
                  {l.url ? (
                    <a href={l.url} target="_blank" rel="noreferrer">
                      {l.externalId} ↗
                    </a>
                  ) : (
                    <span className="mono">{l.externalId}</span>
                  )}
                </td>
                <td>
                  <Time iso={l.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

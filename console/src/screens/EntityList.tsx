import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get, qs, type Page } from '../api';
import { useSession } from '../session';
import { useEntityTypes } from '../Layout';
import { Chip, Empty, ErrorBox, Modal, PageHead, Pager, ProcessIcon, SkeletonRows, Time, RefusedRequirements } from '../components/ui';
import { ExpressionEditor, exprErrorOf } from '../components/ExpressionEditor';
import { AttributeForm, fieldErrors, fromDraft, toDraft, type Draft } from '../components/AttributeForm';
import { ProcessEntityModal } from './ProcessEntityModal';
import type { Entity, EntityType } from '../types';

const PAGE = 50;

function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function EntityList() {
  const { type = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? '';
  const where = params.get('where') ?? '';
  const cursor = params.get('cursor') ?? '';
  const [whereDraft, setWhereDraft] = useState(where);
  const [prev, setPrev] = useState<string[]>([]);
  const [creating, setCreating] = useState(false);
  const [processing, setProcessing] = useState<Entity | null>(null);
  const { can } = useSession();
  const types = useEntityTypes();
  const et = types.data?.items.find((t) => t.key === type);

  const list = useQuery({
    queryKey: ['entities', type, { status, where, cursor }],
    queryFn: ({ signal }) => get<Page<Entity>>(`/entities/${type}${qs({ status, where, cursor, limit: PAGE })}`, signal),
    placeholderData: keepPreviousData,
  });
  const update = (next: Record<string, string>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    setParams(p);
  };
  const whereError = list.error instanceof ApiError && list.error.code === 'EXPRESSION_INVALID' ? exprErrorOf(list.error, 'where') ?? { message: list.error.message, code: list.error.code } : null;
  const cols = (et?.attributes ?? []).slice(0, 4);
  // j / k move between rows (focus on each row's link; Enter opens it), as in Linear.
  const onKeys = (ev: React.KeyboardEvent) => {
    if (ev.key !== 'j' && ev.key !== 'k') return;
    const links = [...(ev.currentTarget as HTMLElement).querySelectorAll<HTMLAnchorElement>('tbody td:first-child a')];
    if (links.length === 0) return;
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    const next = ev.key === 'j' ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
    links[at < 0 ? 0 : next]!.focus();
    ev.preventDefault();
  };

  return (
    <>
      <PageHead
        title={et?.name ?? type}
        sub={list.data ? `${list.data.items.length}${list.data.nextCursor ? '+' : ''} shown` : undefined}
        actions={
          can.entities && et ? (
            <button className="primary" onClick={() => setCreating(true)}>
              New {et.name.toLowerCase()}
            </button>
          ) : null
        }
      />
      <div className="filters" role="search">
        <label className="field">
          <span>Status</span>
          <select
            value={status}
            onChange={(e) => {
              setPrev([]);
              update({ status: e.target.value, cursor: '' });
            }}
          >
            <option value="">All statuses</option>
            {et?.statuses.map((s) => (
              <option key={s.key} value={s.key}>
                {s.name ?? s.key}
              </option>
            ))}
          </select>
        </label>
        <div className="where field">
          <label className="muted" htmlFor="where-input" style={{ fontSize: 13, fontWeight: 500 }}>
            Where <span className="small">(a condition, e.g. total &gt; 100 and channel = "web")</span>
          </label>
          <div className="row" style={{ flexWrap: 'nowrap', alignItems: 'flex-start' }}>
            <div style={{ flex: 1, minWidth: 0 }}>
              <ExpressionEditor
                id="where-input"
                label="Where condition"
                value={whereDraft}
                onChange={setWhereDraft}
                error={whereError}
                placeholder="total > 100"
                onEnter={() => {
                  setPrev([]);
                  update({ where: whereDraft.trim(), cursor: '' });
                }}
              />
            </div>
            <button
              onClick={() => {
                setPrev([]);
                update({ where: whereDraft.trim(), cursor: '' });
              }}
            >
              Search
            </button>
            {where ? (
              <button
                className="ghost"
                onClick={() => {
                  setWhereDraft('');
                  update({ where: '', cursor: '' });
                }}
              >
                Clear
              </button>
            ) : null}
          </div>
        </div>
      </div>
      {list.error && !whereError ? <ErrorBox error={list.error} /> : null}
      <div className="table-wrap" onKeyDown={onKeys}>
        <table aria-label={`${et?.name ?? type} entities`}>
          <thead>
            <tr>
              <th scope="col">Entity</th>
              <th scope="col">Status</th>
              {cols.map((a) => (
                <th scope="col" key={a.key}>
                  {a.key}
                </th>
              ))}
              <th scope="col">Updated</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          {list.isPending ? (
            <SkeletonRows cols={cols.length + 4} />
          ) : (
            <tbody>
              {list.data?.items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={`/entities/${type}/${e.id}`} className="mono">
                      {e.id.slice(-8)}
                    </Link>
                  </td>
                  <td>
                    <Chip kind="status" value={e.status} />
                  </td>
                  {cols.map((a) => (
                    <td key={a.key} className={a.type === 'number' || a.type === 'integer' ? 'num' : undefined}>
                      {cell(e.attributes[a.key])}
                    </td>
                  ))}
                  <td>
                    <Time iso={e.updatedAt} />
                  </td>
                  <td style={{ textAlign: 'right' }}>
                    {can.entities ? (
                      <button className="icon" aria-label={`Process entity ${e.id.slice(-8)}`} title="Process entity" onClick={() => setProcessing(e)}>
                        <ProcessIcon />
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          )}
        </table>
        {list.data && list.data.items.length === 0 ? (
          <Empty title={where || status ? 'No entity matches these filters' : `No ${et?.name.toLowerCase() ?? 'entities'} yet`}>
            {where || status ? <p>Change the status or the condition.</p> : can.entities ? <p>Create one with “New {et?.name.toLowerCase() ?? 'entity'}”, or through the API.</p> : null}
          </Empty>
        ) : null}
      </div>
      <Pager cursor={cursor} nextCursor={list.data?.nextCursor} prev={prev} setPrev={setPrev} go={(c) => update({ cursor: c })} updating={list.isFetching && !list.isPending} />
      {et && creating ? <CreateEntity et={et} onClose={() => setCreating(false)} /> : null}
      {processing ? <ProcessEntityModal entity={processing} onClose={() => setProcessing(null)} /> : null}
    </>
  );
}

function CreateEntity({ et, onClose }: { et: EntityType; onClose(): void }) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(et.attributes, {}));
  const [localError, setLocalError] = useState<string | null>(null);
  const client = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: (attributes: Record<string, unknown>) => api<Entity>('POST', `/entities/${et.key}`, { body: { attributes } }),
    onSuccess: (e) => {
      void client.invalidateQueries({ queryKey: ['entities', et.key] });
      onClose();
      navigate(`/entities/${et.key}/${e.id}`);
    },
  });
  const submit = () => {
    setLocalError(null);
    try {
      create.mutate(fromDraft(et.attributes, draft));
    } catch (err) {
      setLocalError((err as Error).message);
    }
  };
  return (
    <Modal
      open
      onClose={onClose}
      labelId="create-entity-title"
      title={`New ${et.name.toLowerCase()}`}
      footer={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="primary" onClick={submit} disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create'}
          </button>
        </>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <AttributeForm idPrefix="new" attrs={et.attributes} draft={draft} onChange={setDraft} errors={fieldErrors(create.error)} />
        <button type="submit" hidden />
      </form>
      {localError ? <div className="alert" role="alert">{localError}</div> : null}
      <ErrorBox error={create.error} />
      <RefusedRequirements error={create.error} />
    </Modal>
  );
}

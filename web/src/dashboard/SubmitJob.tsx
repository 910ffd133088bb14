import { useState, type ChangeEvent, type FormEvent } from 'react';
import type { JobLanguage } from '@barnraise/shared';
import { ApiRequestError } from './api.ts';
import { useServices } from './services.ts';
import { useDashboard } from './store.ts';
import { validationField, type ValidationChoice } from './trust.ts';
import { checkCode, checkInputs, checkPositive } from './validate.ts';

const EXAMPLES: Record<JobLanguage, string> = {
  javascript: 'export default (n, ctx) => {\n  ctx.progress(1);\n  return n * n;\n}\n',
  python: 'def main(n, ctx):\n    ctx.progress(1)\n    return n * n\n',
};
const CODE_LABEL: Record<JobLanguage, string> = {
  javascript: 'Code (an ES module; its default export runs once per input)',
  python: 'Code (a Python module; its main(input, ctx) runs once per input)',
};

type Errors = Partial<Record<'code' | 'inputs' | 'timeout' | 'server', string>>;

/** Paste or upload the code and an inputs JSON file; mistakes show beside their field. */
export function SubmitJob() {
  const { api } = useServices();
  const select = useDashboard((s) => s.selectJob);
  const [name, setName] = useState('');
  const [language, setLanguage] = useState<JobLanguage>('javascript');
  const [code, setCode] = useState(EXAMPLES.javascript);
  const [inputs, setInputs] = useState('[1, 2, 3, 4, 5]');
  const [timeout, setTimeoutMs] = useState('');
  const [validation, setValidation] = useState<ValidationChoice>('');
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  const switchLanguage = (next: JobLanguage) => {
    // The other language's untouched example gives way to this one's; the operator's own code stays.
    if (code === EXAMPLES[language] || !code.trim()) setCode(EXAMPLES[next]);
    setLanguage(next);
    setErrors({});
  };

  const load = (set: (text: string) => void) => async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (file) set(await file.text());
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const c = checkCode(code, language);
    const i = checkInputs(inputs);
    const t = checkPositive(timeout, 'Timeout');
    const found: Errors = {};
    if (!c.ok) found.code = c.error;
    if (!i.ok) found.inputs = i.error;
    if (!t.ok) found.timeout = t.error;
    setErrors(found);
    if (!c.ok || !i.ok || !t.ok) return;
    setBusy(true);
    try {
      // [Y1] `language` only for Python: JavaScript is the master's default.
      const job = await api.createJob({ code: c.value, inputs: i.value, ...(language === 'python' ? { language } : {}), ...(name.trim() ? { name: name.trim() } : {}), ...(t.value ? { timeoutMs: t.value } : {}), ...validationField(validation) });
      select(job.id);
    } catch (err) {
      const message = err instanceof ApiRequestError ? err.message : String(err);
      setErrors(/code/i.test(message) ? { code: message } : /inputs/i.test(message) ? { inputs: message } : { server: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="submit-h">
      <h2 id="submit-h">Submit a job</h2>
      <form onSubmit={submit} noValidate>
        <label htmlFor="job-name">Name</label>
        <input id="job-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
        <label htmlFor="job-language">Language</label>
        <select id="job-language" value={language} onChange={(e) => switchLanguage(e.target.value as JobLanguage)}>
          <option value="javascript">JavaScript</option>
          <option value="python">Python (runs on Pyodide; volunteers download it once, about 13.5 MB)</option>
        </select>
        <label htmlFor="job-code">{CODE_LABEL[language]}</label>
        <textarea id="job-code" className="mono" rows={7} value={code} onChange={(e) => setCode(e.target.value)} aria-invalid={!!errors.code} aria-describedby="job-code-error" />
        <input type="file" accept={language === 'python' ? '.py,text/x-python' : '.js,.mjs,text/javascript'} aria-label="Upload code file" onChange={load(setCode)} />
        <p id="job-code-error" className="problem" data-testid="submit.code-error">{errors.code}</p>
        <label htmlFor="job-inputs">Inputs (a JSON array: one task per element)</label>
        <textarea id="job-inputs" className="mono" rows={3} value={inputs} onChange={(e) => setInputs(e.target.value)} aria-invalid={!!errors.inputs} aria-describedby="job-inputs-error" />
        <input type="file" accept=".json,application/json" aria-label="Upload inputs file" onChange={load(setInputs)} />
        <p id="job-inputs-error" className="problem" data-testid="submit.inputs-error">{errors.inputs}</p>
        <label htmlFor="job-timeout">Time limit per attempt (ms)</label>
        <input id="job-timeout" inputMode="numeric" value={timeout} onChange={(e) => setTimeoutMs(e.target.value)} placeholder="60000" aria-invalid={!!errors.timeout} />
        <p className="problem">{errors.timeout}</p>
        <label htmlFor="job-validation">Result validation</label>
        <select id="job-validation" value={validation} onChange={(e) => setValidation(e.target.value as ValidationChoice)}>
          <option value="">the master's default</option>
          <option value="none">none: one result from anyone is final</option>
          <option value="adaptive">adaptive: trusted volunteers' results are spot-checked</option>
          <option value="strict">strict: agreeing results from distinct identities, one trusted</option>
        </select>
        {errors.server && (
          <p role="alert" className="problem">
            {errors.server}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          Submit job
        </button>
      </form>
    </section>
  );
}

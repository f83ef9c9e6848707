// validate.cjs: checks Kubernetes manifests for `make chart-test`.
//
//   node validate.cjs objects FILE...
//       every document of every FILE against the upstream OpenAPI schema of
//       its apiVersion/kind (kubernetes-models; ServiceMonitor from
//       @kubernetes-models/prometheus-operator). An unknown kind fails.
//   node validate.cjs chart RENDERED OUTDIR VALUES...
//       RENDERED is `helm template` output, VALUES the chart's values.yaml
//       and the -f files it was rendered with, merged in order as helm
//       merges them. Besides the schemas: the
//       KubeSchedulerConfiguration field by field, the security context of
//       every container, and, for the daemon, OUTDIR/extender-args (one
//       argument a line, mounted paths mapped into OUTDIR) for
//       `vgpu-extender --check-config`, and OUTDIR/helm-test.sh when the
//       chart renders its test pod.
//
// Prints one line per problem and "validate: N objects, M problems"; exits 1
// on any problem.
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const problems = [];
const bad = (where, msg) => problems.push(`${where}: ${msg}`);

function modelFor(apiVersion, kind) {
  const group = apiVersion.includes('/') ? apiVersion : `core/${apiVersion}`;
  const [g, v] = group.split('/');
  const candidates = g === 'monitoring.coreos.com'
    ? [`@kubernetes-models/prometheus-operator/${g}/${v}/${kind}`]
    : [g === 'core' ? `kubernetes-models/${v}/${kind}` : `kubernetes-models/${g}/${v}/${kind}`];
  for (const c of candidates) {
    try {
      return require(c)[kind];
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return null;
}

function loadDocs(file) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out = [];
  docs.forEach((d, i) => {
    if (d.errors.length) bad(`${file} document ${i + 1}`, d.errors[0].message);
    const obj = d.toJS();
    if (obj !== null && obj !== undefined) out.push({ file, index: i + 1, obj });
  });
  return out;
}

function checkSchema(doc) {
  const { obj } = doc;
  const where = `${doc.file} #${doc.index} ${obj.kind}/${obj.metadata && obj.metadata.name}`;
  if (!obj.apiVersion || !obj.kind) return bad(where, 'no apiVersion or kind');
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return bad(where, `no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (e) {
    bad(where, e.message);
  }
}

// kubescheduler.config.k8s.io/v1 (k8s.io/kube-scheduler/config/v1/types.go):
// the keys each level may have, so that a misspelt key is caught too.
const KSC_KEYS = ['apiVersion', 'kind', 'parallelism', 'leaderElection', 'clientConnection',
  'healthzBindAddress', 'metricsBindAddress', 'enableProfiling', 'enableContentionProfiling',
  'percentageOfNodesToScore', 'podInitialBackoffSeconds', 'podMaxBackoffSeconds', 'profiles',
  'extenders', 'delayCacheUntilActive'];
const LE_KEYS = ['leaderElect', 'leaseDuration', 'renewDeadline', 'retryPeriod', 'resourceLock',
  'resourceName', 'resourceNamespace'];
const PROFILE_KEYS = ['schedulerName', 'percentageOfNodesToScore', 'plugins', 'pluginConfig'];
const EXT_KEYS = ['urlPrefix', 'filterVerb', 'preemptVerb', 'prioritizeVerb', 'weight',
  'bindVerb', 'enableHTTPS', 'tlsConfig', 'httpTimeout', 'nodeCacheCapable',
  'managedResources', 'ignorable'];
const TLS_KEYS = ['insecure', 'serverName', 'certFile', 'keyFile', 'caFile', 'certData',
  'keyData', 'caData'];
const VGPU_RESOURCES = ['volcano.sh/vgpu-number', 'volcano.sh/vgpu-memory',
  'volcano.sh/vgpu-cores', 'volcano.sh/vgpu-memory-percentage'];

function onlyKeys(where, obj, allowed) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return bad(where, 'not a mapping');
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) bad(where, `unknown key "${k}"`);
}

function expect(where, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    bad(where, `is ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

const isLoopback = (a) => a === 'localhost' || String(a).startsWith('127.');

function checkSchedulerConfig(ksc, v, fullname, ns) {
  const w = 'KubeSchedulerConfiguration';
  onlyKeys(w, ksc, KSC_KEYS);
  expect(`${w}.apiVersion`, ksc.apiVersion, 'kubescheduler.config.k8s.io/v1');
  expect(`${w}.kind`, ksc.kind, 'KubeSchedulerConfiguration');
  expect(`${w}.podInitialBackoffSeconds`, ksc.podInitialBackoffSeconds,
    v.kubeScheduler.podInitialBackoffSeconds);
  expect(`${w}.podMaxBackoffSeconds`, ksc.podMaxBackoffSeconds, v.kubeScheduler.podMaxBackoffSeconds);
  if (ksc.podMaxBackoffSeconds < ksc.podInitialBackoffSeconds)
    bad(w, 'podMaxBackoffSeconds is below podInitialBackoffSeconds');
  onlyKeys(`${w}.leaderElection`, ksc.leaderElection, LE_KEYS);
  expect(`${w}.leaderElection.leaderElect`, ksc.leaderElection.leaderElect, v.kubeScheduler.leaderElect);
  expect(`${w}.leaderElection.resourceName`, ksc.leaderElection.resourceName, fullname);
  expect(`${w}.leaderElection.resourceNamespace`, ksc.leaderElection.resourceNamespace, ns);
  expect(`${w}.profiles`, (ksc.profiles || []).map((p) => p.schedulerName), [v.schedulerName]);
  (ksc.profiles || []).forEach((p, i) => onlyKeys(`${w}.profiles[${i}]`, p, PROFILE_KEYS));
  expect(`${w}.extenders.length`, (ksc.extenders || []).length, 1);
  const e = (ksc.extenders || [])[0] || {};
  const x = `${w}.extenders[0]`;
  onlyKeys(x, e, EXT_KEYS);
  const tls = !!v.extender.tls.secretName;
  const addr = v.extender.listen.address;
  const host = addr === '0.0.0.0' || addr === '' ? '127.0.0.1' : addr;
  expect(`${x}.urlPrefix`, e.urlPrefix, `${tls ? 'https' : 'http'}://${host}:${v.extender.listen.port}`);
  expect(`${x}.filterVerb`, e.filterVerb, 'filter');
  expect(`${x}.prioritizeVerb`, e.prioritizeVerb, 'prioritize');
  expect(`${x}.bindVerb`, e.bindVerb, 'bind');
  expect(`${x}.preemptVerb`, e.preemptVerb, 'preempt');
  expect(`${x}.nodeCacheCapable`, e.nodeCacheCapable, true);
  expect(`${x}.weight`, e.weight, 1);
  expect(`${x}.ignorable`, e.ignorable, false);
  expect(`${x}.httpTimeout`, e.httpTimeout, v.extender.httpTimeout);
  if (!/^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/.test(String(e.httpTimeout)))
    bad(`${x}.httpTimeout`, `"${e.httpTimeout}" is not a Go duration`);
  expect(`${x}.enableHTTPS`, e.enableHTTPS, tls);
  if (tls) {
    onlyKeys(`${x}.tlsConfig`, e.tlsConfig, TLS_KEYS);
    expect(`${x}.tlsConfig.insecure`, e.tlsConfig.insecure, !!v.extender.tls.insecureSkipVerify);
  }
  const mr = e.managedResources || [];
  mr.forEach((r, i) => onlyKeys(`${x}.managedResources[${i}]`, r, ['name', 'ignoredByScheduler']));
  expect(`${x}.managedResources`, mr.map((r) => [r.name, r.ignoredByScheduler]).sort(),
    VGPU_RESOURCES.map((n) => [n, true]).sort());
  return e;
}

function checkSecurity(where, pod) {
  const ps = pod.securityContext || {};
  if (ps.runAsNonRoot !== true) bad(`${where}.securityContext`, 'runAsNonRoot is not true');
  for (const c of pod.containers || []) {
    const s = c.securityContext || {};
    const cw = `${where}.containers[${c.name}].securityContext`;
    if (s.runAsNonRoot !== true) bad(cw, 'runAsNonRoot is not true');
    if (s.readOnlyRootFilesystem !== true) bad(cw, 'readOnlyRootFilesystem is not true');
    if (s.allowPrivilegeEscalation !== false) bad(cw, 'allowPrivilegeEscalation is not false');
    if (s.privileged === true) bad(cw, 'privileged');
    if (!s.capabilities || JSON.stringify(s.capabilities.drop) !== '["ALL"]' || s.capabilities.add)
      bad(cw, 'capabilities: want drop [ALL] and no add');
    if (!s.seccompProfile || s.seccompProfile.type !== 'RuntimeDefault')
      bad(cw, 'seccompProfile is not RuntimeDefault');
  }
}

// The file a container path comes from: [volume, key-or-null].
function mountSource(pod, container, p) {
  for (const m of container.volumeMounts || []) {
    if (p === m.mountPath || p.startsWith(`${m.mountPath}/`)) {
      const vol = (pod.volumes || []).find((x) => x.name === m.name);
      return [vol, p.slice(m.mountPath.length + 1)];
    }
  }
  return [null, null];
}

function extenderArgs(pod, objs, outdir) {
  const c = pod.containers.find((x) => x.name === 'vgpu-extender');
  if (!c) return bad('Deployment', 'no vgpu-extender container');
  const lines = [];
  for (const a of c.args || []) {
    const m = /^(--[a-z-]+)=(\/.*)$/.exec(a);
    if (!m) { lines.push(a); continue; }
    const [vol, key] = mountSource(pod, c, m[2]);
    if (!vol) { bad(`vgpu-extender arg ${a}`, 'path is not on a mounted volume'); continue; }
    const local = path.join(outdir, key.replace(/\//g, '_'));
    if (vol.configMap) {
      const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name);
      if (!cm || !(key in (cm.data || {})))
        bad(`vgpu-extender arg ${a}`, `ConfigMap ${vol.configMap.name} has no key ${key}`);
      else fs.writeFileSync(local, cm.data[key]);
    } else {
      fs.writeFileSync(local, ''); // a Secret: the daemon checks it is readable
    }
    lines.push(`${m[1]}=${local}`);
  }
  fs.writeFileSync(path.join(outdir, 'extender-args'), `${lines.join('\n')}\n`);
}

function checkSchedulerMounts(pod, objs, e) {
  const c = pod.containers.find((x) => x.name === 'kube-scheduler');
  if (!c) return bad('Deployment', 'no kube-scheduler container');
  const cfg = (c.command || []).concat(c.args || []).find((a) => a.startsWith('--config='));
  const [vol, key] = cfg ? mountSource(pod, c, cfg.slice(9)) : [null, null];
  const cm = vol && vol.configMap && objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name);
  if (!cm || !(key in cm.data)) bad('kube-scheduler --config', 'does not name a mounted ConfigMap key');
  if (e.tlsConfig && e.tlsConfig.caFile) {
    const [cv] = mountSource(pod, c, e.tlsConfig.caFile);
    if (!cv) bad('tlsConfig.caFile', `${e.tlsConfig.caFile} is not mounted into kube-scheduler`);
  }
}

// Helm's merge of values files: maps merge key by key, anything else replaces.
function merge(a, b) {
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b))
    return b === undefined ? a : b;
  const out = { ...a };
  for (const k of Object.keys(b)) out[k] = merge(a[k], b[k]);
  return out;
}

function chart(rendered, outdir, valueFiles) {
  const v = valueFiles.map((f) => YAML.parse(fs.readFileSync(f, 'utf8')) || {}).reduce(merge, {});
  const docs = loadDocs(rendered);
  docs.forEach(checkSchema);
  const objs = docs.map((d) => d.obj);
  const dep = objs.find((o) => o.kind === 'Deployment');
  if (!dep) return bad(rendered, 'no Deployment');
  const fullname = dep.metadata.name, ns = dep.metadata.namespace;
  const kcm = objs.find((o) => o.kind === 'ConfigMap' && o.data && o.data['scheduler-config.yaml']);
  if (!kcm) return bad(rendered, 'no ConfigMap with scheduler-config.yaml');
  const e = checkSchedulerConfig(YAML.parse(kcm.data['scheduler-config.yaml']), v, fullname, ns);
  const pod = dep.spec.template.spec;
  checkSecurity('Deployment', pod);
  checkSchedulerMounts(pod, objs, e);
  extenderArgs(pod, objs, outdir);
  const test = objs.find((o) => o.kind === 'Pod' && o.metadata.annotations &&
    o.metadata.annotations['helm.sh/hook'] === 'test');
  if (test) {
    checkSecurity('test Pod', test.spec);
    fs.writeFileSync(path.join(outdir, 'helm-test.sh'), test.spec.containers[0].args[0]);
  }
  const sm = objs.find((o) => o.kind === 'ServiceMonitor');
  if (v.serviceMonitor.enabled !== !!sm) bad('ServiceMonitor', `rendered is ${!!sm}, enabled is ${v.serviceMonitor.enabled}`);
  return docs.length;
}

const [mode, ...rest] = process.argv.slice(2);
let n = 0;
if (mode === 'objects') {
  for (const f of rest) {
    const docs = loadDocs(f);
    docs.forEach(checkSchema);
    n += docs.length;
  }
} else if (mode === 'chart') {
  n = chart(rest[0], rest[1], rest.slice(2)) || 0;
} else {
  console.error('usage: validate.cjs objects FILE... | chart RENDERED OUTDIR VALUES...');
  process.exit(2);
}
for (const p of problems) console.log(`  ${p}`);
console.log(`validate: ${n} objects, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);

"use strict";
// neuralab's live page: the playground (mode "play"), a read-only view of runs as they train
// ("live") and a finished run played again ("replay"). Plain JavaScript and canvas; every
// request carries the page's token; updates arrive as server-sent events at /events.
(() => {
  const S = SETTINGS;
  const TEXT = {
    en: {
      play: "play", live: "live", replay: "replay", data: "Data", dataset: "Data set",
      points: "Points", noise: "Noise", spread: "Spread", classes: "Classes",
      "csv file": "CSV file (two numeric columns and a class column)",
      "class column": "Class column (empty: the last)", "test share": "Test share",
      model: "Model", units: "Units", activation: "Activation", dropout: "Dropout",
      "add layer": "+ layer", training: "Training", optimizer: "Optimizer",
      "learning rate": "Learning rate", "batch size": "Batch size", epochs: "Epochs",
      seed: "Seed", schedule: "LR schedule (optional)", output: "Output", epoch: "Epoch",
      "train loss": "Training loss", "test loss": "Test loss",
      "train accuracy": "Training accuracy", "test accuracy": "Test accuracy", runs: "Runs",
      run: "Run", loss: "Loss", accuracy: "Accuracy", "train acc": "Train acc", "val acc": "Val acc",
      "test acc": "Test acc", state: "State", start: "Start", resume: "Resume",
      pause: "Pause", step: "Step", reset: "Reset", export: "Export", save: "Save run",
      idle: "ready", preparing: "preparing", paused: "paused", finished: "finished",
      error: "error", "training-state": "training", complete: "complete",
      incomplete: "incomplete", train: "train", test: "test", validation: "validation",
      "no findings": "Shape doctor: data, model and loss fit together.",
      params: "parameters", "your csv": "your CSV", "upload first": "Choose a CSV file first.",
      uploaded: "rows", "too big": "is larger than the page accepts",
      exported: "Exported", saving: "Saving a run…", saved: "Saved run", report: "report",
      connected: "connected", disconnected: "disconnected: reconnecting…",
      "reset first": "Reset to change the model.", "lr curve": "learning rate",
      "boundary note": "Colour: predicted class (paler: less sure). ● train  ○ test",
      "samples note": "First images: predicted class (green: right, red: wrong)",
      "waiting": "Waiting for runs to start…", "replaying": "Replaying", "ended": "ended",
      "output layer": "output", "loss fn": "loss", finalMetrics: "final (evaluated)",
    },
    pt: {
      play: "playground", live: "ao vivo", replay: "replay", data: "Dados",
      dataset: "Conjunto de dados", points: "Pontos", noise: "Ruído", spread: "Dispersão",
      classes: "Classes", "csv file": "Arquivo CSV (duas colunas numéricas e uma de classe)",
      "class column": "Coluna da classe (vazia: a última)", "test share": "Parcela de teste",
      model: "Modelo", units: "Unidades", activation: "Ativação", dropout: "Dropout",
      "add layer": "+ camada", training: "Treinamento", optimizer: "Otimizador",
      "learning rate": "Taxa de aprendizado", "batch size": "Tamanho do lote",
      epochs: "Épocas", seed: "Semente", schedule: "Agenda da taxa (opcional)",
      output: "Saída", epoch: "Época", "train loss": "Perda de treino",
      "test loss": "Perda de teste", "train accuracy": "Acurácia de treino",
      "test accuracy": "Acurácia de teste", runs: "Execuções", run: "Execução",
      loss: "Perda", accuracy: "Acurácia", "train acc": "Acur. treino", "val acc": "Acur. valid.",
      "test acc": "Acur. teste", state: "Estado", start: "Iniciar", resume: "Continuar",
      pause: "Pausar", step: "Passo", reset: "Reiniciar", export: "Exportar",
      save: "Salvar execução", idle: "pronto", preparing: "preparando", paused: "pausado",
      finished: "concluído", error: "erro", "training-state": "treinando",
      complete: "completa", incomplete: "incompleta", train: "treino", test: "teste",
      validation: "validação",
      "no findings": "Médico de formas: dados, modelo e perda combinam.",
      params: "parâmetros", "your csv": "seu CSV", "upload first": "Escolha um arquivo CSV antes.",
      uploaded: "linhas", "too big": "é maior do que a página aceita",
      exported: "Exportado", saving: "Salvando uma execução…", saved: "Execução salva",
      report: "relatório", connected: "conectado", disconnected: "desconectado: reconectando…",
      "reset first": "Reinicie para mudar o modelo.", "lr curve": "taxa de aprendizado",
      "boundary note": "Cor: classe prevista (mais clara: menos certeza). ● treino  ○ teste",
      "samples note": "Primeiras imagens: classe prevista (verde: certa, vermelho: errada)",
      "waiting": "Esperando as execuções começarem…", "replaying": "Reproduzindo",
      "ended": "terminou", "output layer": "saída", "loss fn": "perda",
      finalMetrics: "final (avaliada)",
    },
  };
  const T = (key) => (TEXT[S.lang] || TEXT.en)[key] || TEXT.en[key] || key;
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const RGB = COLORS.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
  const q = (params) => Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const fmt = (v, digits = 4) => (v === undefined || v === null || !isFinite(v) ? "–" : Number(v).toFixed(digits));
  const fmtLr = (v) => (v === undefined || v === null || !isFinite(v) ? "–" : Number(v).toPrecision(3));

  // ------------------------------------------------------------------ state
  const runs = new Map(); // channel -> run
  let selected = null; // channel shown in the output panel
  let followLatest = true;
  let session = null;
  let status = "idle";
  let dirty = false;
  let previewTimer = null;
  let upload = null;

  function newRun(channel) {
    return {
      channel, name: channel, group: "", epochs: 0, classNames: [], points: [], rows: [],
      frame: null, predictions: null, samples: [], findings: [], state: "training",
      metrics: null, findingsShown: false,
    };
  }
  function run(channel) {
    if (!runs.has(channel)) runs.set(channel, newRun(channel));
    return runs.get(channel);
  }

  // ------------------------------------------------------------------ messages
  function showMessage(text, kind = "error") {
    const box = $("message");
    $("message-text").textContent = text;
    box.className = "message" + (kind === "info" ? " info" : "");
    box.hidden = !text;
  }
  $("message-close").addEventListener("click", () => showMessage(""));

  async function api(path, body, options = {}) {
    try {
      const response = await fetch(`${path}?${q({ token: S.token })}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Neuralab-Token": S.token },
        body: JSON.stringify({ session, ...body }),
      });
      const data = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
      if (!data.ok && data.error) showMessage(data.error);
      else if (!data.ok && data.message && !options.quiet) showMessage(data.message, "info");
      return data;
    } catch (err) {
      showMessage(String(err));
      return { ok: false, error: String(err) };
    }
  }

  // ------------------------------------------------------------------ the form
  function fillSelect(select, values, labels) {
    select.innerHTML = "";
    values.forEach((v, i) => {
      const option = document.createElement("option");
      option.value = v;
      option.textContent = labels ? labels[i] : v;
      select.appendChild(option);
    });
  }
  function num(id) {
    const raw = $(id).value.trim();
    const value = Number(raw);
    return raw === "" || !isFinite(value) ? raw : value;
  }
  function layerRow(layer) {
    const row = document.createElement("div");
    row.className = "layer";
    const index = document.createElement("span");
    const units = document.createElement("input");
    units.type = "number"; units.min = 1; units.max = 256; units.value = layer.units; units.className = "units";
    const activation = document.createElement("select");
    activation.className = "activation";
    fillSelect(activation, S.choices.activations);
    activation.value = layer.activation;
    const dropout = document.createElement("input");
    dropout.type = "number"; dropout.min = 0; dropout.max = 0.9; dropout.step = 0.05;
    dropout.value = layer.dropout || 0; dropout.className = "dropout";
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "−"; remove.title = "remove";
    remove.addEventListener("click", () => { row.remove(); numberLayers(); changed(); });
    row.append(index, units, activation, dropout, remove);
    return row;
  }
  function numberLayers() {
    [...$("layers").children].forEach((row, i) => { row.firstChild.textContent = i + 1; });
    $("add-layer").disabled = formLocked() || $("layers").children.length >= S.choices.max_hidden;
  }
  function readConfig() {
    const name = $("data-name").value;
    return {
      data: {
        name,
        n_samples: num("n-samples"),
        noise: num("noise"),
        test_share: num("test-share"),
        n_classes: num("n-classes"),
        label: $("label").value.trim(),
      },
      layers: [...$("layers").children].map((row) => ({
        units: Number(row.querySelector(".units").value),
        activation: row.querySelector(".activation").value,
        dropout: Number(row.querySelector(".dropout").value || 0),
      })),
      l2: num("l2"),
      optimizer: $("optimizer").value,
      learning_rate: num("learning-rate"),
      batch_size: num("batch-size"),
      epochs: num("epochs"),
      seed: num("seed"),
      lr_schedule: $("lr-schedule").value,
    };
  }
  function writeConfig(config) {
    $("data-name").value = config.data.name;
    $("n-samples").value = config.data.n_samples;
    $("noise").value = config.data.noise;
    $("test-share").value = config.data.test_share;
    $("n-classes").value = config.data.n_classes || 3;
    $("layers").innerHTML = "";
    config.layers.forEach((layer) => $("layers").appendChild(layerRow(layer)));
    $("l2").value = config.l2;
    $("optimizer").value = config.optimizer;
    $("learning-rate").value = config.learning_rate;
    $("batch-size").value = config.batch_size;
    $("epochs").value = config.epochs;
    $("seed").value = config.seed;
    $("lr-schedule").value = config.lr_schedule || "";
    numberLayers();
    syncForm();
  }
  function nClasses() {
    const name = $("data-name").value;
    if (name === "csv") return upload ? upload.n_classes : 2;
    if (name === "spirals" || name === "blobs") return Number($("n-classes").value) || 3;
    return 2;
  }
  function syncForm() {
    const name = $("data-name").value;
    $("generated").hidden = name === "csv";
    $("csv").hidden = name !== "csv";
    $("classes-row").hidden = !(name === "spirals" || name === "blobs");
    const blobs = name === "blobs";
    $("noise-label").textContent = T(blobs ? "spread" : "noise");
    $("noise").max = blobs ? 5 : 0.5;
    $("noise").step = blobs ? 0.1 : 0.01;
    $("n-samples-out").textContent = $("n-samples").value;
    $("noise-out").textContent = $("noise").value;
    $("test-share-out").textContent = Math.round(Number($("test-share").value) * 100) + "%";
    const k = nClasses();
    $("output-layer").textContent = k === 2
      ? `Dense(1, sigmoid) · ${T("loss fn")}: binary_crossentropy`
      : `Dense(${k}, softmax) · ${T("loss fn")}: sparse_categorical_crossentropy`;
  }
  function formLocked() {
    return S.mode !== "play" || ["preparing", "training", "paused"].includes(status);
  }
  function lockForm() {
    const locked = formLocked();
    document.querySelectorAll("#data-panel input, #data-panel select, #model-panel input, #model-panel select, #model-panel button")
      .forEach((el) => { el.disabled = locked; });
    if (!locked) numberLayers();
  }
  function changed() {
    syncForm();
    dirty = true;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 350);
  }
  async function preview() {
    if (formLocked() || !session) return;
    if ($("data-name").value === "csv" && !upload) {
      $("findings").innerHTML = "";
      $("params").textContent = "";
      runs.delete(session); // the last data set's points are not this one's
      draw();
      return;
    }
    dirty = false;
    const result = await api("/api/preview", { config: readConfig() }, { quiet: true });
    if (result.ok) {
      showMessage("");
      $("params").textContent = `${result.params.toLocaleString()} ${T("params")}`;
    } else {
      $("params").textContent = "";
      showFindings([], result.error || result.message);
    }
  }
  function showFindings(findings, error) {
    const box = $("findings");
    box.innerHTML = "";
    const add = (kind, text) => {
      const div = document.createElement("div");
      div.className = `finding ${kind}`;
      div.textContent = text;
      box.appendChild(div);
    };
    if (error) add("error", error);
    findings.forEach((f) => add(f.severity, f.message));
    if (!error && !findings.length) add("ok", T("no findings"));
  }

  // ------------------------------------------------------------------ uploads
  async function sendUpload() {
    const file = $("file").files[0];
    if (!file) return;
    $("upload-error").hidden = true;
    if (file.size > S.choices.max_upload) {
      uploadError(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB ${T("too big")} (${S.choices.max_upload / 1048576} MB).`);
      return;
    }
    const body = await file.arrayBuffer();
    let data;
    try {
      const response = await fetch(`/api/upload?${q({ token: S.token, session, name: file.name, label: $("label").value.trim() })}`, {
        method: "POST", headers: { "Content-Type": "application/octet-stream", "X-Neuralab-Token": S.token }, body,
      });
      data = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
    } catch (err) {
      data = { ok: false, error: String(err) };
    }
    if (!data.ok) {
      upload = null;
      uploadError(data.error || data.message);
      return;
    }
    upload = data;
    $("upload-info").textContent = `${data.name}: ${data.rows.toLocaleString()} ${T("uploaded")}, ${data.n_classes} ${T("classes").toLowerCase()} (${data.class_names.join(", ")})`;
    changed();
  }
  function uploadError(text) {
    $("upload-error").textContent = text;
    $("upload-error").hidden = false;
    $("upload-info").textContent = "";
    showMessage(text);
  }

  // ------------------------------------------------------------------ controls
  function setStatus(next, message) {
    status = next;
    const pill = $("status");
    pill.textContent = T(next === "training" ? "training-state" : next);
    pill.className = `pill ${next}`;
    if (S.mode === "play") {
      $("start").textContent = T(next === "paused" ? "resume" : "start");
      $("start").disabled = !["idle", "paused", "error"].includes(next);
      $("pause").disabled = next !== "training";
      $("step").disabled = !["idle", "paused", "training", "error"].includes(next);
      $("reset").disabled = false;
      lockForm();
    }
    if (next === "error" && message) showMessage(message);
  }
  function bindControls() {
    $("start").addEventListener("click", async () => {
      showMessage("");
      clearTimeout(previewTimer);
      if (status === "idle" || status === "error") setStatus("preparing");
      const result = await api("/api/start", { config: readConfig() });
      if (!result.ok && status === "preparing") setStatus("idle");
    });
    $("pause").addEventListener("click", () => api("/api/pause", {}));
    $("step").addEventListener("click", () => api("/api/step", { config: readConfig() }));
    $("reset").addEventListener("click", async () => {
      await api("/api/reset", {});
      preview();
    });
    $("export").addEventListener("click", async () => {
      const result = await api("/api/export", { config: readConfig() });
      if (!result.ok) return;
      const blob = new Blob([result.toml], { type: "application/toml" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = result.filename;
      document.body.appendChild(link);
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      $("saved").textContent = `${T("exported")}: ${result.filename}`;
    });
    $("save").addEventListener("click", () => api("/api/save", { config: readConfig() }));
    $("add-layer").addEventListener("click", () => {
      $("layers").appendChild(layerRow({ units: 4, activation: "relu", dropout: 0 }));
      numberLayers();
      changed();
    });
    document.querySelectorAll("#data-panel input, #data-panel select, #model-panel input, #model-panel select")
      .forEach((el) => el.addEventListener(el.type === "range" ? "input" : "change", () => {
        if (el.id === "file") return;
        if (el.id === "data-name" || el.type === "range") syncForm();
        if (status === "finished" || status === "error") {
          api("/api/reset", {}).then(changed);
        } else changed();
      }));
    $("layers").addEventListener("change", changed);
    $("file").addEventListener("change", sendUpload);
  }

  // ------------------------------------------------------------------ events
  function handle(event) {
    const channel = event.channel;
    if (event.type === "state") { setStatus(event.status, event.message); return; }
    if (event.type === "error") { showMessage(event.message); return; }
    if (event.type === "saving") { $("saved").textContent = T("saving"); return; }
    if (event.type === "saved") {
      const acc = event.metrics && event.metrics.test ? ` · ${T("test accuracy")} ${fmt(event.metrics.test.accuracy)}` : "";
      $("saved").textContent = `${T("saved")}: ${event.path}${acc} · ${T("report")}: ${event.report}`;
      return;
    }
    if (event.type === "reset") {
      runs.delete(channel);
      if (selected === channel) draw();
      return;
    }
    const r = run(channel);
    if (event.type === "begin") {
      const keep = event.initial_epoch > 0 ? r.rows.filter((row) => row.epoch <= event.initial_epoch) : [];
      Object.assign(r, {
        name: event.name, group: event.group, epochs: event.epochs, classNames: event.class_names,
        points: event.points, samples: event.samples, findings: event.findings, rows: keep,
        frame: null, predictions: null, state: "training", metrics: null,
      });
      if (S.mode === "play") showFindings(event.findings);
      if (followLatest || !selected) selected = channel;
    } else if (event.type === "epoch") {
      r.rows.push({ epoch: event.epoch, ...event.logs });
    } else if (event.type === "boundary") {
      r.frame = decodeGrid(event.grid);
      r.frameEpoch = event.epoch;
    } else if (event.type === "predictions") {
      r.predictions = event;
    } else if (event.type === "end") {
      r.state = event.interrupted ? "incomplete" : "ended";
    } else if (event.type === "metrics") {
      r.metrics = event.metrics;
      r.state = "complete";
    } else if (event.type === "run_status") {
      r.state = event.status;
      if (event.metrics) r.metrics = event.metrics;
    }
    if (S.mode !== "play" && followLatest && (event.type === "begin" || event.type === "epoch")) selected = channel;
    schedule();
  }
  function decodeGrid(grid) {
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return { ...grid, ids: bytes(grid.classes), conf: bytes(grid.confidence) };
  }
  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  // ------------------------------------------------------------------ drawing
  function draw() {
    const r = selected ? runs.get(selected) : null;
    drawNumbers(r);
    drawBoundary(r);
    drawSamples(r);
    const rows = r ? r.rows : [];
    drawCurve($("loss-curve"), rows, "loss", T("loss"), false);
    drawCurve($("accuracy-curve"), rows, "accuracy", T("accuracy"), true);
    drawLegend(r);
    if (S.mode !== "play") drawTable();
  }
  function last(rows) { return rows.length ? rows[rows.length - 1] : {}; }
  function drawNumbers(r) {
    const row = r ? last(r.rows) : {};
    const m = r && r.metrics;
    $("run-name").textContent = r && S.mode !== "play" ? shortName(r.channel, [...runs.keys()]) : "";
    $("epoch").textContent = r && r.rows.length ? `${row.epoch} / ${r.epochs}` : "0";
    $("lr").textContent = fmtLr(row.learning_rate);
    const testKey = m && m.test ? "test" : "validation";
    $("train-loss").textContent = fmt(m && m.train ? m.train.loss : row.loss);
    $("train-accuracy").textContent = fmt(m && m.train ? m.train.accuracy : row.accuracy);
    $("test-loss").textContent = fmt(m && m[testKey] ? m[testKey].loss : row.val_loss);
    $("test-accuracy").textContent = fmt(m && m[testKey] ? m[testKey].accuracy : row.val_accuracy);
    $("test-accuracy").title = m ? T("finalMetrics") : "";
  }
  function extentOf(r) {
    if (r.frame) return [r.frame.x_min, r.frame.x_max, r.frame.y_min, r.frame.y_max];
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    r.points.forEach((p) => p.x.forEach(([a, b]) => {
      x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b);
    }));
    const mx = (x1 - x0 || 1) * 0.1, my = (y1 - y0 || 1) * 0.1;
    return [x0 - mx, x1 + mx, y0 - my, y1 + my];
  }
  const offscreen = document.createElement("canvas");
  function drawBoundary(r) {
    const canvas = $("boundary");
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    const hasPoints = r && r.points && r.points.length;
    canvas.hidden = Boolean(r && !hasPoints && r.samples && r.samples.length);
    $("boundary-note").textContent = hasPoints ? T("boundary note") : (r && r.samples && r.samples.length ? T("samples note") : "");
    if (!hasPoints) {
      ctx.fillStyle = "#8a96a3";
      ctx.font = "13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(S.mode === "play" ? "" : T("waiting"), W / 2, H / 2);
      return;
    }
    const [x0, x1, y0, y1] = extentOf(r);
    const k = Math.max(2, r.classNames.length);
    if (r.frame) {
      const n = r.frame.size;
      offscreen.width = n; offscreen.height = n;
      const octx = offscreen.getContext("2d");
      const image = octx.createImageData(n, n);
      for (let row = 0; row < n; row++) {
        for (let col = 0; col < n; col++) {
          const cell = row * n + col;
          const target = ((n - 1 - row) * n + col) * 4; // row 0 is y_min: the bottom
          const rgb = RGB[r.frame.ids[cell] % RGB.length];
          const sure = Math.max(0, (r.frame.conf[cell] / 255 - 1 / k) / (1 - 1 / k));
          const a = 0.12 + 0.6 * sure;
          image.data[target] = Math.round(255 + (rgb[0] - 255) * a);
          image.data[target + 1] = Math.round(255 + (rgb[1] - 255) * a);
          image.data[target + 2] = Math.round(255 + (rgb[2] - 255) * a);
          image.data[target + 3] = 255;
        }
      }
      octx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(offscreen, 0, 0, W, H);
    }
    const px = (x) => ((x - x0) / (x1 - x0)) * W;
    const py = (y) => H - ((y - y0) / (y1 - y0)) * H;
    r.points.forEach((part) => {
      const isTrain = part.split === "train";
      part.x.forEach(([a, b], i) => {
        const color = COLORS[part.y[i] % COLORS.length];
        ctx.beginPath();
        ctx.arc(px(a), py(b), isTrain ? 2.6 : 3.2, 0, 2 * Math.PI);
        if (isTrain) {
          ctx.fillStyle = color; ctx.fill();
          ctx.lineWidth = 0.8; ctx.strokeStyle = "rgba(255,255,255,.9)"; ctx.stroke();
        } else {
          ctx.fillStyle = "#ffffff"; ctx.fill();
          ctx.lineWidth = 1.8; ctx.strokeStyle = color; ctx.stroke();
        }
      });
    });
    if (r.frame) {
      ctx.fillStyle = "rgba(29,39,51,.75)";
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "right";
      ctx.fillText(`${T("epoch")} ${r.frameEpoch}`, W - 8, 16);
    }
  }
  function drawSamples(r) {
    const box = $("samples");
    const samples = r && r.samples ? r.samples : [];
    box.hidden = !samples.length;
    if (!samples.length) return;
    if (box.dataset.channel !== r.channel || box.children.length !== samples.length) {
      box.innerHTML = "";
      box.dataset.channel = r.channel;
      samples.forEach(() => {
        const figure = document.createElement("figure");
        const img = document.createElement("img");
        const caption = document.createElement("figcaption");
        figure.append(img, caption);
        box.appendChild(figure);
      });
    }
    samples.forEach((sample, i) => {
      const figure = box.children[i];
      const img = figure.firstChild;
      if (img.src !== sample.png) img.src = sample.png;
      const p = r.predictions;
      const names = r.classNames;
      if (p && i < p.predicted.length) {
        const right = p.predicted[i] === sample.label;
        img.className = right ? "right" : "wrong";
        figure.lastChild.textContent = `${names[p.predicted[i]] ?? p.predicted[i]} ${Math.round(p.confidence[i] * 100)}%`;
      } else {
        img.className = "";
        figure.lastChild.textContent = names[sample.label] ?? String(sample.label);
      }
      img.title = `${T("test")}: ${names[sample.label] ?? sample.label}`;
    });
  }
  function drawCurve(canvas, rows, key, title, unit) {
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    const L = 44, R = 10, Tp = 22, B = 24;
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#5f6b7a";
    ctx.textAlign = "left";
    ctx.fillText(title, L, 14);
    const series = [
      { key, label: T("train"), color: "#0877bd", dash: [] },
      { key: `val_${key}`, label: S.mode === "play" ? T("test") : T("validation"), color: "#f59322", dash: [5, 3] },
    ].filter((s) => rows.some((row) => row[s.key] !== undefined));
    const values = [];
    series.forEach((s) => rows.forEach((row) => { const v = row[s.key]; if (isFinite(v)) values.push(v); }));
    let lo = unit ? 0 : Math.min(...values, Infinity);
    let hi = unit ? 1 : Math.max(...values, -Infinity);
    if (!values.length) { lo = 0; hi = 1; }
    if (!unit) {
      const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
      lo = Math.max(0, lo - pad); hi += pad;
    }
    const n = rows.length ? rows[rows.length - 1].epoch : 1;
    const first = rows.length ? rows[0].epoch : 0;
    const px = (e) => L + ((e - first) / Math.max(1, n - first)) * (W - L - R);
    const py = (v) => Tp + (1 - (v - lo) / (hi - lo || 1)) * (H - Tp - B);
    ctx.strokeStyle = "#e6eaef"; ctx.lineWidth = 1;
    ctx.textAlign = "right";
    // Enough decimals that the five ticks read differently (a loss of 0.6931 to 0.6940).
    const step = (hi - lo) / 4 || 1;
    const digits = Math.min(5, Math.max(unit ? 2 : 0, Math.ceil(-Math.log10(step)) + (hi < 10 ? 1 : 0)));
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      const y = py(v);
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - R, y); ctx.stroke();
      ctx.fillText(v.toFixed(digits), L - 5, y + 4);
    }
    ctx.textAlign = "center";
    ctx.fillText(String(first), L, H - 6);
    if (rows.length) ctx.fillText(String(n), W - R - 8, H - 6);
    ctx.fillText(T("epochs").toLowerCase(), (L + W - R) / 2, H - 6);
    series.forEach((s, j) => {
      ctx.beginPath();
      ctx.setLineDash(s.dash);
      ctx.strokeStyle = s.color; ctx.lineWidth = 1.8;
      let started = false;
      rows.forEach((row) => {
        const v = row[s.key];
        if (!isFinite(v)) return;
        if (started) ctx.lineTo(px(row.epoch), py(v)); else { ctx.moveTo(px(row.epoch), py(v)); started = true; }
      });
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = s.color;
      ctx.textAlign = "right";
      ctx.fillText(s.label, W - R - 70 * (series.length - 1 - j), 14);
    });
  }
  function drawLegend(r) {
    const box = $("legend");
    const names = r && r.classNames.length ? r.classNames : [];
    const key = names.join("|");
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.innerHTML = "";
    names.forEach((name, i) => {
      const span = document.createElement("span");
      const dot = document.createElement("i");
      dot.style.background = COLORS[i % COLORS.length];
      span.append(dot, document.createTextNode(name));
      box.appendChild(span);
    });
  }
  function shortName(channel, channels) {
    // A lab's runs share their lab folder: show what tells them apart.
    const first = (c) => c.split("/")[0];
    const shared = channels.every((c) => c.includes("/") && first(c) === first(channels[0]));
    return shared ? channel.slice(first(channel).length + 1) : channel;
  }
  function drawTable() {
    const body = document.querySelector("#runs tbody");
    const channels = [...runs.keys()];
    $("runs-note").textContent = channels.length ? "" : T("waiting");
    channels.forEach((channel, i) => {
      const r = runs.get(channel);
      let tr = body.querySelector(`tr[data-channel="${CSS.escape(channel)}"]`);
      if (!tr) {
        tr = document.createElement("tr");
        tr.dataset.channel = channel;
        for (let c = 0; c < 7; c++) tr.appendChild(document.createElement("td"));
        tr.addEventListener("click", () => { selected = channel; followLatest = false; schedule(); });
        body.appendChild(tr);
      }
      const row = last(r.rows);
      const m = r.metrics || {};
      const cells = [
        shortName(channel, channels), r.rows.length ? `${row.epoch}/${r.epochs}` : `0/${r.epochs}`, fmt(row.loss),
        fmt(m.train ? m.train.accuracy : row.accuracy, 3),
        fmt(m.validation ? m.validation.accuracy : row.val_accuracy, 3),
        fmt(m.test ? m.test.accuracy : undefined, 3), T(r.state === "training" ? "training-state" : r.state),
      ];
      cells.forEach((text, c) => { if (tr.children[c].textContent !== text) tr.children[c].textContent = text; });
      tr.children[6].className = `state-${r.state === "ended" ? "training" : r.state}`;
      tr.classList.toggle("selected", channel === selected);
      if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
    });
  }

  // ------------------------------------------------------------------ connection
  function connect() {
    const params = { token: S.token };
    if (session) params.session = session;
    const source = new EventSource(`/events?${q(params)}`);
    source.onopen = () => { $("connection").textContent = T("connected"); };
    source.onerror = () => { $("connection").textContent = T("disconnected"); };
    source.onmessage = (message) => {
      try { handle(JSON.parse(message.data)); } catch (err) { console.error(err); }
    };
  }

  // ------------------------------------------------------------------ start
  function translate() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = T(el.dataset.t); });
    $("start").textContent = T("start"); $("pause").textContent = T("pause");
    $("step").textContent = T("step"); $("reset").textContent = T("reset");
    $("export").textContent = T("export"); $("save").textContent = T("save");
    $("mode-name").textContent = T(S.mode);
    $("title").textContent = S.title || "";
  }
  async function init() {
    translate();
    if (S.mode !== "play") {
      $("main").classList.add("live");
      $("data-panel").hidden = true;
      $("model-panel").hidden = true;
      $("runs-panel").hidden = false;
      $("controls").hidden = true;
      setStatus(S.mode === "replay" ? "replay" : "live");
      $("status").textContent = T(S.mode);
      connect();
      draw();
      return;
    }
    fillSelect($("data-name"), S.choices.data, S.choices.data.map((d) => (d === "csv" ? T("your csv") : d)));
    fillSelect($("optimizer"), S.choices.optimizers);
    writeConfig(S.defaults);
    bindControls();
    const created = await api("/api/session", {});
    if (!created.ok) return;
    session = created.session;
    connect();
    setStatus("idle");
    preview();
  }
  window.neuralab = { runs, readConfig, status: () => status };
  init();
})();

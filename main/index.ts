// Electron main process: one window, the engine in child processes (app/jobs/host.ts), the contract over IPC.
// The renderer is sandboxed with context isolation and no Node; it reaches the engine only
// through the preload's `window.eora` and these handlers, which check the sender and
// validate every request before the engine sees it.
import { app, BrowserWindow, dialog, ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { join } from 'node:path';
import { ipcChannels, parseCallRequest, toWireError, type CallResponse } from '../app/contract/index.js';
import { EngineHost } from '../app/jobs/host.js';
import type { Device } from '../app/onnx/runtime.js';

const appRoot = app.getAppPath();
// Checked here too (the worker checks again) so a typo fails before a window opens.
const device = (process.env.EORA_DEVICE ?? 'cpu') as Device;
if (!['cpu', 'cuda', 'webgpu'].includes(device)) throw new Error(`EORA_DEVICE="${device}" is not a device (cpu, cuda, webgpu)`);
let engine: EngineHost;
let window: BrowserWindow | null = null;

function createWindow() {
  window = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: `EoRA Workbench — ${device}`,
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.once('ready-to-show', () => window?.show());
  // No new windows, no navigation away from the bundled UI; links open in the user's browser.
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  void window.loadFile(join(__dirname, '../renderer/index.html'));
  window.on('closed', () => (window = null));
}

/** Only our own window's top frame may call the engine. */
function fromOurWindow(event: IpcMainInvokeEvent): boolean {
  return window !== null && event.sender === window.webContents && event.senderFrame === window.webContents.mainFrame;
}

function registerIpc() {
  ipcMain.handle(ipcChannels.call, async (event, raw: unknown): Promise<CallResponse> => {
    if (!fromOurWindow(event)) return { ok: false, error: { code: 'unauthorized', message: 'unknown sender' } };
    try {
      const { id, method, params } = parseCallRequest(raw);
      const sender = event.sender;
      const result = await engine.call(String(method), params, {
        id,
        onProgress: (progress) => sender.send(ipcChannels.progress, { id, progress }),
      });
      return { ok: true, result };
    } catch (error) {
      return { ok: false, error: toWireError(error) };
    }
  });
  ipcMain.handle(ipcChannels.cancel, (event, id: unknown) => {
    if (fromOurWindow(event) && typeof id === 'string') engine.cancel(id);
  });
  ipcMain.handle(ipcChannels.pickModel, async (event) => {
    if (!fromOurWindow(event) || !window) return null;
    const picked = await dialog.showOpenDialog(window, {
      title: 'Open a model: a Hugging Face folder or a llama2.c .bin',
      properties: ['openFile', 'openDirectory'],
      filters: [{ name: 'llama2.c checkpoint', extensions: ['bin'] }],
    });
    return picked.canceled ? null : (picked.filePaths[0] ?? null);
  });
  ipcMain.handle(ipcChannels.pickFolder, async (event) => {
    if (!fromOurWindow(event) || !window) return null;
    const picked = await dialog.showOpenDialog(window, { title: 'Choose a folder', properties: ['openDirectory', 'createDirectory'] });
    return picked.canceled ? null : (picked.filePaths[0] ?? null);
  });
}

app.whenReady().then(() => {
  engine = new EngineHost({ config: { host: 'electron', device }, workerFile: join(appRoot, 'out/app/jobs/worker.js') });
  registerIpc();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  void engine?.close();
  if (process.platform !== 'darwin') app.quit();
});

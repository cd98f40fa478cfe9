// The renderer's whole view of Electron: one object, four operations, fixed channels.
// Runs sandboxed (CommonJS bundle), so it may only use `electron`'s renderer modules.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { ipcChannels, type EoraBridge } from '../../app/contract/bridge.js';
import type { CallRequest, CallResponse, ProgressEvent } from '../../app/contract/wire.js';

const bridge: EoraBridge = {
  call: (request: CallRequest) => ipcRenderer.invoke(ipcChannels.call, request) as Promise<CallResponse>,
  cancel: (id: string) => ipcRenderer.invoke(ipcChannels.cancel, id) as Promise<void>,
  onProgress(listener) {
    const handler = (_event: IpcRendererEvent, progress: ProgressEvent) => listener(progress);
    ipcRenderer.on(ipcChannels.progress, handler);
    return () => ipcRenderer.off(ipcChannels.progress, handler);
  },
  pickModel: () => ipcRenderer.invoke(ipcChannels.pickModel) as Promise<string | null>,
  pickFolder: () => ipcRenderer.invoke(ipcChannels.pickFolder) as Promise<string | null>,
};

contextBridge.exposeInMainWorld('eora', bridge);

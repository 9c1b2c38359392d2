import { createContext } from 'svelte';
import type { LiveStore } from './live.svelte';

/** The page's one LiveStore: App provides it, every panel takes it from context instead of a prop. */
export const [getStore, setStore] = createContext<LiveStore>();

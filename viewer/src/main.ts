import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { claimViewerId } from './lib/viewer-id';

void claimViewerId(localStorage, sessionStorage).then((viewerId) => mount(App, { target: document.getElementById('app')!, props: { viewerId } }));

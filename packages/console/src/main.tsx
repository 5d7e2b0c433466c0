import { render } from 'preact';
import { App } from './app.js';
import './styles.css';
import { escapeAllDisplayedText } from './text.js';

escapeAllDisplayedText();

const root = document.getElementById('app');
if (root) render(<App />, root);

/** Entry of the admin console: the page styles and the shell element, which does the rest. */
import './page.css';
import './elements/pw-app.js';

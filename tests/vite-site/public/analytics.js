window.__analytics = (window.__analytics || 0) + 1;

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { boot } from './volunteer/controller.ts';
import { VolunteerPage } from './volunteer/VolunteerPage.tsx';
import './ui/styles.css';

boot();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <VolunteerPage />
  </StrictMode>,
);

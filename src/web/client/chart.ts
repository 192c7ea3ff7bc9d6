/** The datastore page's capacity chart (stub, filled in by the datastore-page work). */
import uPlot from 'uplot';

export const chartLibrary: unknown = uPlot;

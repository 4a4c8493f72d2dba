// Fundraising campaigns on the phone (docs/campaigns.md): which campaigns collect at a
// station on a day, and the one a gift belongs to by default, as the server decides it
// (server/domain/campaigns.py campaign_for_gift).

/** Today as the server counts campaign days: the calendar day in Asia/Shanghai. */
export function shanghaiDay(date = new Date()) {
  return new Date(date.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

export function collectsAt(campaign, station) {
  if (!station) return false;
  if (campaign.stations?.length) return campaign.stations.includes(station.code);
  return !campaign.district || campaign.district === station.district;
}

export function isOpen(campaign, day) {
  return campaign.starts_on <= day && day <= campaign.ends_on;
}

/** Campaigns open at the station on the day, oldest start first. */
export function openCampaigns(view, station, day = shanghaiDay()) {
  return [...(view.campaign?.values() || [])]
    .filter((c) => isOpen(c, day) && collectsAt(c, station))
    .sort((a, b) => (a.starts_on < b.starts_on ? -1 : a.starts_on > b.starts_on ? 1 : a.id < b.id ? -1 : 1));
}

export function raisesFor(campaign, fundId, projectId) {
  if (!fundId) return true;
  if (!campaign.fund_ids.includes(fundId)) return false;
  return !projectId || !campaign.project_ids.length || campaign.project_ids.includes(projectId);
}

/** The campaign a gift goes to when the form names none: the event's, else the one open
 *  campaign at the station that raises for the gift's fund; null when none or several. */
export function defaultCampaign(view, station, event, fundId, projectId, day = shanghaiDay()) {
  if (event?.campaign) return event.campaign;
  const fits = openCampaigns(view, station, day).filter((c) => raisesFor(c, fundId, projectId));
  return fits.length === 1 ? fits[0].id : null;
}

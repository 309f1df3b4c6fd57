// Azure Monitor workbook "RoleGen nightly" over AppMetrics (users per phase, shards, LLM calls/fallbacks/429s/tokens,
// score and shard durations per night). The workbook content lives in ../workbooks/rolegen-nightly.workbook.json
// (edit it in the portal, then paste the Advanced Editor's gallery template back into that file); this module only
// points its queries at the workspace.
@description('Region of the workbook resource.')
param location string

@description('Tags applied to every resource.')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('Log Analytics workspace the workbook queries (AppMetrics).')
param logAnalyticsName string

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: logAnalyticsName
}

var content = loadJsonContent('../workbooks/rolegen-nightly.workbook.json')

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // Workbook names must be GUIDs; this one is stable per resource group.
  name: guid(resourceGroup().id, 'rolegen-nightly-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'RoleGen nightly'
    category: 'workbook'
    sourceId: logAnalytics.id
    serializedData: string(union(content, { fallbackResourceIds: [logAnalytics.id] }))
  }
}

output id string = workbook.id

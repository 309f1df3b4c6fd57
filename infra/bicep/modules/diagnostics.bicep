// Diagnostic settings that send resource logs and platform metrics to the Log Analytics workspace: the storage
// account's blob/queue/table services (StorageRead/Write/Delete -> StorageBlobLogs, StorageQueueLogs,
// StorageTableLogs; Transaction metrics), the Azure OpenAI account (all log categories -> AzureDiagnostics;
// AllMetrics) and the Function App (FunctionAppLogs; AllMetrics). The GPU Container App already logs to the same
// workspace through its Container Apps environment.
// Cost note: the Durable Azure Storage backend polls its queues continuously, so StorageQueueLogs grows with the
// number of running hosts even when idle; set diagnosticSettingsEnabled=false in main.bicep to skip all of this.
@description('Log Analytics workspace that receives the logs and metrics.')
param logAnalyticsName string

@description('Storage account name.')
param storageAccountName string

@description('Azure OpenAI account name.')
param openAiAccountName string

@description('Function App name.')
param functionAppName string

// API version: 2021-05-01-preview is the newest Microsoft.Insights/diagnosticSettings version (the one Microsoft's
// Functions and storage samples use) and the first with category groups (allLogs, used for Azure OpenAI). The
// use-recent-api-versions rule only accepts the GA 2016-09-01 for this type, hence the per-resource suppressions.
var settingName = 'rolegen-log-analytics'
var storageLogs = [
  {
    category: 'StorageRead'
    enabled: true
  }
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]
var storageMetrics = [
  {
    category: 'Transaction'
    enabled: true
  }
]
var allMetrics = [
  {
    category: 'AllMetrics'
    enabled: true
  }
]

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: logAnalyticsName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-06-01' existing = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-06-01' existing = {
  parent: storage
  name: 'default'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-06-01' existing = {
  parent: storage
  name: 'default'
}

resource openAi 'Microsoft.CognitiveServices/accounts@2026-07-01' existing = {
  name: openAiAccountName
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionAppName
}

// Account level: metrics only (resource logs exist per service).
#disable-next-line use-recent-api-versions
resource storageAccountDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: storage
  properties: {
    workspaceId: logAnalytics.id
    metrics: storageMetrics
  }
}

#disable-next-line use-recent-api-versions
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: blobService
  properties: {
    workspaceId: logAnalytics.id
    logs: storageLogs
    metrics: storageMetrics
  }
}

#disable-next-line use-recent-api-versions
resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: queueService
  properties: {
    workspaceId: logAnalytics.id
    logs: storageLogs
    metrics: storageMetrics
  }
}

#disable-next-line use-recent-api-versions
resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: tableService
  properties: {
    workspaceId: logAnalytics.id
    logs: storageLogs
    metrics: storageMetrics
  }
}

// allLogs: Audit, RequestResponse, Trace, AzureOpenAIRequestUsage (and any category added later).
#disable-next-line use-recent-api-versions
resource openAiDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: openAi
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: allMetrics
  }
}

#disable-next-line use-recent-api-versions
resource functionAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: settingName
  scope: functionApp
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: allMetrics
  }
}

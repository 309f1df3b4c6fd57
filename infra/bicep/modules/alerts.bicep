// Alerting on the nightly batch, from the app's OpenTelemetry metrics (Meter "RoleGen", Azure Monitor exporter):
// they land in the workspace-based Application Insights' Log Analytics table AppMetrics (Name = instrument name,
// Sum = value summed over the export interval, ItemCount = number of measurements, Min/Max, Properties =
// attributes). Three scheduled query (log search) rules over AppMetrics, stateful (autoMitigate: one notification
// when a rule fires, one when it resolves), each with its own system-assigned identity that may only read the
// workspace (Log Analytics Reader), and an action group when an e-mail address is given (without one the alerts still
// fire and show up under Monitor > Alerts).
@description('Region of the alert rules (the workspace region).')
param location string

@description('Tags applied to every resource.')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('Resource token used in the resource names.')
param resourceToken string

@description('Log Analytics workspace holding AppMetrics.')
param logAnalyticsName string

@description('E-mail address notified by the action group; empty: no action group (alerts fire into the portal only).')
param emailAddress string = ''

@description('Whether a nightly run is expected (RoleGen__Runs__Dataset is set); the no-run rule is created disabled otherwise.')
param nightlyRunExpected bool

@description('Hours without a timer-started run before "no run started" fires (24 h between runs + grace).')
@minValue(1)
@maxValue(47)
param noRunWindowHours int = 26

@description('Hours a run may take: the window over which failed shards and the LLM fallback rate are summed.')
@minValue(1)
@maxValue(6)
param runWindowHours int = 6

@description('LLM fallback rate threshold in percent (fallbacks / calls * 100), e.g. 20 for 0.2.')
@minValue(1)
@maxValue(100)
param llmFallbackRatePercent int = 20

@description('Minimum number of LLM calls in the window before the fallback rate is judged.')
@minValue(1)
param llmFallbackMinCalls int = 20

// Built-in Log Analytics Reader: read/query workspace data, nothing else.
var logAnalyticsReaderRoleId = '73c42c96-874c-492b-b04d-ab87d138a893'
var hasEmail = !empty(emailAddress)

// (1) No run started tonight. The query brings its own time filter (ago(), a timespan literal), so the rule's query
// time range is widened to the two-day maximum; summarize without a group-by always returns one row (sum() of
// nothing is 0), so silence evaluates to RunsStarted = 0 and fires.
var noRunQuery = format(
  '''AppMetrics
| where TimeGenerated > ago({0}h)
| where Name == "rolegen.runs.started" and tostring(Properties["rolegen.trigger"]) == "timer"
| summarize RunsStarted = sum(Sum)
| extend RunsStarted = coalesce(RunsStarted, 0.0)''',
  noRunWindowHours
)

// (2) Any failed shard within the run window.
var shardsFailedQuery = '''AppMetrics
| where Name == "rolegen.shards.failed"
| summarize ShardsFailed = sum(Sum)'''

// (3) LLM fallback rate = fallbacks / calls over the run window, judged only with enough calls.
var fallbackRateQuery = format(
  '''AppMetrics
| where Name in ("rolegen.llm.calls", "rolegen.llm.fallbacks")
| summarize Calls = sumif(Sum, Name == "rolegen.llm.calls"), Fallbacks = sumif(Sum, Name == "rolegen.llm.fallbacks")
| where Calls >= {0}
| extend FallbackRatePercent = round(100.0 * Fallbacks / Calls, 2)''',
  llmFallbackMinCalls
)

var rules = [
  {
    key: 'no-run'
    displayName: 'RoleGen: no nightly run started'
    description: 'No rolegen.runs.started with rolegen.trigger = timer in the last ${noRunWindowHours} h: the nightly timer did not start a run (host down, timer disabled, dataset unset, or the run already existed).'
    severity: 1
    enabled: nightlyRunExpected
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    overrideQueryTimeRange: 'P2D'
    query: noRunQuery
    measure: 'RunsStarted'
    aggregation: 'Total'
    operator: 'LessThan'
    threshold: 1
  }
  {
    key: 'shards-failed'
    displayName: 'RoleGen: shards failed'
    description: 'rolegen.shards.failed > 0 in the last ${runWindowHours} h: at least one shard of a run failed after its retries.'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT${runWindowHours}H'
    overrideQueryTimeRange: ''
    query: shardsFailedQuery
    measure: 'ShardsFailed'
    aggregation: 'Total'
    operator: 'GreaterThan'
    threshold: 0
  }
  {
    key: 'llm-fallback-rate'
    displayName: 'RoleGen: LLM fallback rate high'
    description: 'rolegen.llm.fallbacks / rolegen.llm.calls above ${llmFallbackRatePercent} % over the last ${runWindowHours} h (at least ${llmFallbackMinCalls} calls): the reasoner is falling back to the embedded reasoner (invalid output, budget, failures or throttling).'
    severity: 3
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT${runWindowHours}H'
    overrideQueryTimeRange: ''
    query: fallbackRateQuery
    measure: 'FallbackRatePercent'
    aggregation: 'Maximum'
    operator: 'GreaterThan'
    threshold: llmFallbackRatePercent
  }
]

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: logAnalyticsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (hasEmail) {
  name: 'ag-rolegen-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'rolegen'
    enabled: true
    emailReceivers: [
      {
        name: 'rolegen-operator'
        emailAddress: emailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: 'alert-rolegen-${rule.key}-${resourceToken}'
    location: location
    tags: tags
    kind: 'LogAlert'
    identity: {
      type: 'SystemAssigned'
    }
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: rule.enabled
      scopes: [
        logAnalytics.id
      ]
      evaluationFrequency: rule.evaluationFrequency
      windowSize: rule.windowSize
      overrideQueryTimeRange: empty(rule.overrideQueryTimeRange) ? null : rule.overrideQueryTimeRange
      autoMitigate: true
      // The rules are created before the app has exported anything; don't let ARM reject them for that.
      skipQueryValidation: true
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: rule.aggregation
            metricMeasureColumn: rule.measure
            operator: rule.operator
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: hasEmail ? [actionGroup.id] : []
      }
    }
  }
]

// Each rule queries the workspace with its own identity (instead of the permissions of whoever deployed it last).
resource alertReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (rule, i) in rules: {
    name: guid(logAnalytics.id, alertRules[i].id, logAnalyticsReaderRoleId)
    scope: logAnalytics
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', logAnalyticsReaderRoleId)
      principalId: alertRules[i].identity.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

output alertRuleNames string[] = [for (rule, i) in rules: alertRules[i].name]

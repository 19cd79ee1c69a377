import {
  EdmNavigation,
  EdmProperty,
  ENTITY_SETS,
  EntitySetModel,
  entitySet,
  NAMESPACE,
} from './edm-model';

/** CSDL (EDMX 4.0) of the model, for `GET /odata/v1/$metadata`. */
export function metadataDocument(): string {
  const types = ENTITY_SETS.map(entityType).join('\n');
  const sets = ENTITY_SETS.map(
    (set) =>
      `        <EntitySet Name="${set.name}" EntityType="${NAMESPACE}.${set.typeName}">` +
      set.navigations
        .map(
          (n) => `\n          <NavigationPropertyBinding Path="${n.name}" Target="${n.target}"/>`,
        )
        .join('') +
      `${set.navigations.length ? '\n        ' : ''}</EntitySet>`,
  ).join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="${NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">
${types}
      <EntityContainer Name="Container">
${sets}
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`;
}

function entityType(set: EntitySetModel): string {
  const keys = set.properties.filter((p) => p.key);
  return [
    `      <EntityType Name="${set.typeName}">`,
    `        <Key>${keys.map((k) => `<PropertyRef Name="${k.name}"/>`).join('')}</Key>`,
    ...set.properties.map(property),
    ...set.navigations.map((n) => navigation(set, n)),
    `      </EntityType>`,
  ].join('\n');
}

function property(p: EdmProperty): string {
  const facets = [
    `Name="${p.name}"`,
    `Type="${p.type}"`,
    `Nullable="${p.nullable}"`,
    p.maxLength !== undefined ? `MaxLength="${p.maxLength}"` : '',
    p.precision !== undefined ? `Precision="${p.precision}"` : '',
    p.scale !== undefined ? `Scale="${p.scale}"` : '',
  ].filter(Boolean);
  return `        <Property ${facets.join(' ')}/>`;
}

function navigation(set: EntitySetModel, n: EdmNavigation): string {
  const target = entitySet(n.target);
  const partner = target.navigations.find((back) => back.target === set.name);
  const type = n.collection
    ? `Collection(${NAMESPACE}.${target.typeName})`
    : `${NAMESPACE}.${target.typeName}`;
  const attributes = [
    `Name="${n.name}"`,
    `Type="${type}"`,
    n.collection ? '' : 'Nullable="false"',
    partner ? `Partner="${partner.name}"` : '',
  ].filter(Boolean);
  // A many-to-one navigation is backed by a foreign key on this entity.
  const constraint = n.collection
    ? ''
    : `\n          <ReferentialConstraint Property="${n.sourceProperty}" ReferencedProperty="${n.targetProperty}"/>\n        `;
  return `        <NavigationProperty ${attributes.join(' ')}>${constraint}</NavigationProperty>`;
}

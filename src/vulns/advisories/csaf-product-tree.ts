import type { AdvisoryProduct } from './advisory.ts';
import { formatCpe, isSpecificCpeValue, parseCpe } from './cpe.ts';
import { invalidAdvisory } from './errors.ts';
import {
  expectObject,
  mapArray,
  memberOf,
  optionalArray,
  optionalObject,
  optionalString,
  optionalStringArray,
  pointer,
  requiredString,
  type JsonObject,
} from './json-fields.ts';
import { readPackageUrl } from '../sbom/index.ts';

/**
 * The CSAF 2.0 product tree (§3.2.2): branches flattened into products, full product names, relationships
 * (§3.2.2.4) and product groups (§3.2.2.3). The tree is attacker-controlled and recursive: it is walked
 * with an explicit stack, at most `maxBranchDepth` deep, and a product id defined twice is refused (CSAF
 * 2.0 mandatory test §6.1.2).
 */

/** Far deeper than vendor / family / name / version / architecture trees go; bounds the walk. */
export const maxBranchDepth = 64;

const maxProductIdLength = 1000;

export interface ProductTree {
  products: ReadonlyMap<string, AdvisoryProduct>;
  groups: ReadonlyMap<string, readonly string[]>;
}

/** Branch categories (§3.2.2.1.1) that name a part of the product's identity kept on `AdvisoryProduct`. */
type BranchFacts = Pick<
  AdvisoryProduct,
  'vendor' | 'productFamily' | 'productName' | 'version' | 'versionRange'
>;
type InheritedFacts = BranchFacts & Pick<AdvisoryProduct, 'purl' | 'cpe'>;

function factsWithBranch(facts: BranchFacts, category: string, name: string): BranchFacts {
  switch (category) {
    case 'vendor':
      return { ...facts, vendor: name };
    case 'product_family':
      return { ...facts, productFamily: name };
    case 'product_name':
      return { ...facts, productName: name };
    case 'product_version':
      return { ...facts, version: name };
    case 'product_version_range':
      return { ...facts, versionRange: name };
    default:
      return facts;
  }
}

/** What a product built by a relationship takes from the product it refers to. */
function identityOf(component: AdvisoryProduct | undefined): InheritedFacts {
  if (component === undefined) return {};
  const { vendor, productFamily, productName, version, versionRange, purl, cpe } = component;
  return withoutUndefined({ vendor, productFamily, productName, version, versionRange, purl, cpe });
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** §3.1.3 full_product_name_t, with its identification helper's purl and CPE (§3.1.3.3.2, §3.1.3.3.5). */
function readFullProductName(value: unknown, path: string, facts: InheritedFacts): AdvisoryProduct {
  const object = expectObject(value, path);
  const product: AdvisoryProduct = {
    productId: requiredString(object, 'product_id', path, { nonEmpty: true, maxLength: maxProductIdLength }),
    name: requiredString(object, 'name', path, { nonEmpty: true }),
    ...facts,
  };
  const helperPath = pointer(path, 'product_identification_helper');
  const helper = optionalObject(object, 'product_identification_helper', path);
  if (helper !== undefined) {
    const purlText = optionalString(helper, 'purl', helperPath, { maxLength: 4096 });
    const reading = purlText === undefined ? undefined : readPackageUrl(purlText);
    if (reading?.valid === true) {
      const { type, namespace, name, version, canonical } = reading.purl;
      product.purl = {
        type,
        name,
        canonical,
        ...(namespace === undefined ? {} : { namespace }),
        ...(version === undefined ? {} : { version }),
      };
    }
    const cpeText = optionalString(helper, 'cpe', helperPath);
    const cpe = cpeText === undefined ? undefined : parseCpe(cpeText);
    if (cpe !== undefined) {
      // A CPE without a version on a product_version branch names that version.
      if (!isSpecificCpeValue(cpe.version) && product.version !== undefined)
        cpe.version = product.version.toLowerCase();
      product.cpe = formatCpe(cpe);
    }
  }
  return product;
}

export function readProductTree(document: JsonObject): ProductTree {
  const products = new Map<string, AdvisoryProduct>();
  const define = (product: AdvisoryProduct, path: string): void => {
    if (products.has(product.productId)) {
      throw invalidAdvisory(
        path,
        `product id ${JSON.stringify(product.productId.slice(0, 80))} is defined twice (CSAF 2.0 §6.1.2)`,
      );
    }
    products.set(product.productId, product);
  };
  const tree = optionalObject(document, 'product_tree', '');
  if (tree === undefined) return { products, groups: new Map() };
  const treePath = '/product_tree';

  const pending: { value: unknown; path: string; depth: number; facts: BranchFacts }[] = [];
  const pushBranches = (parent: JsonObject, parentPath: string, depth: number, facts: BranchFacts): void => {
    const branches = optionalArray(parent, 'branches', parentPath);
    if (branches.length > 0 && depth >= maxBranchDepth) {
      throw invalidAdvisory(pointer(parentPath, 'branches'), `branches nest deeper than ${maxBranchDepth}`);
    }
    for (let index = branches.length - 1; index >= 0; index--) {
      pending.push({
        value: branches[index],
        path: pointer(pointer(parentPath, 'branches'), index),
        depth: depth + 1,
        facts,
      });
    }
  };
  pushBranches(tree, treePath, 0, {});
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const branch = expectObject(next.value, next.path);
    const category = requiredString(branch, 'category', next.path, { nonEmpty: true });
    const name = requiredString(branch, 'name', next.path, { nonEmpty: true });
    const facts = factsWithBranch(next.facts, category, name);
    const product = optionalObject(branch, 'product', next.path);
    if (product !== undefined)
      define(readFullProductName(product, pointer(next.path, 'product'), facts), next.path);
    pushBranches(branch, next.path, next.depth, facts);
  }

  for (const product of mapArray(tree, 'full_product_names', treePath, (value, path) =>
    readFullProductName(value, path, {}),
  )) {
    define(product, pointer(treePath, 'full_product_names'));
  }

  const relationshipsPath = pointer(treePath, 'relationships');
  optionalArray(tree, 'relationships', treePath).forEach((value, index) => {
    const path = pointer(relationshipsPath, index);
    const relationship = expectObject(value, path);
    const productReference = requiredString(relationship, 'product_reference', path, { nonEmpty: true });
    const relatesTo = requiredString(relationship, 'relates_to_product_reference', path, { nonEmpty: true });
    // The component's identity (purl, CPE, version) is that of the product it refers to (§3.2.2.4).
    const product = readFullProductName(
      memberOf(relationship, 'full_product_name'),
      pointer(path, 'full_product_name'),
      identityOf(products.get(productReference)),
    );
    define(
      {
        ...product,
        relationship: {
          category: requiredString(relationship, 'category', path, { nonEmpty: true }),
          productReference,
          relatesToProductReference: relatesTo,
        },
      },
      path,
    );
  });

  const groups = new Map<string, string[]>();
  const groupsPath = pointer(treePath, 'product_groups');
  optionalArray(tree, 'product_groups', treePath).forEach((value, index) => {
    const path = pointer(groupsPath, index);
    const group = expectObject(value, path);
    const groupId = requiredString(group, 'group_id', path, {
      nonEmpty: true,
      maxLength: maxProductIdLength,
    });
    if (groups.has(groupId)) throw invalidAdvisory(path, 'the group id is defined twice (CSAF 2.0 §6.1.5)');
    groups.set(groupId, optionalStringArray(group, 'product_ids', path));
  });
  return { products, groups };
}
